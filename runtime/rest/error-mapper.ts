// The one place that turns errors into HTTP statuses and Kafka Connect's error body
// {"error_code": <status>, "message": "..."}. Decided by error type, never by message text.

import { InvalidInputError, errorMessage } from '../api/errors.ts';
import {
  AlreadyExistsError,
  BadRequestError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
} from '../herder/errors.ts';
import {
  HttpError,
  MalformedJsonError,
  RequestValidationError,
  UnauthorizedError,
} from './errors.ts';

export interface ErrorBody {
  error_code: number;
  message: string;
}

export interface MappedError {
  status: number;
  body: ErrorBody;
}

function statusOf(error: unknown): number {
  if (error instanceof NotFoundError) return 404;
  if (error instanceof AlreadyExistsError) return 409;
  if (error instanceof ConflictError) return 409;
  if (error instanceof BadRequestError) return 400;
  if (error instanceof InvalidInputError) return 400;
  if (error instanceof ForbiddenError) return 403;
  if (error instanceof UnauthorizedError) return 401;
  if (error instanceof HttpError) return error.status;
  return 500;
}

export function mapError(error: unknown): MappedError {
  const status = statusOf(error);
  const message = errorMessage(error) || (status === 500 ? 'Internal server error' : 'Error');
  return { status, body: { error_code: status, message } };
}

interface AjvErrorLike {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

interface FastifyErrorLike {
  code?: string;
  statusCode?: number;
  message: string;
  validation?: AjvErrorLike[];
  validationContext?: string;
}

const partNames: Record<string, string> = {
  body: 'request body',
  params: 'path',
  querystring: 'query string',
};

function describeValidation(context: string | undefined, problem: AjvErrorLike): string {
  const where = partNames[context ?? ''] ?? context ?? 'request';
  const path = problem.instancePath
    ? problem.instancePath.replace(/^\//, '').replace(/\//g, '.')
    : '';
  if (problem.keyword === 'required' && typeof problem.params?.missingProperty === 'string') {
    const field = path
      ? `${path}.${problem.params.missingProperty}`
      : problem.params.missingProperty;
    return `Missing required field '${field}' in the ${where}`;
  }
  if (problem.keyword === 'type' && !path && context === 'body') {
    return `The request body must be a JSON ${String(problem.params?.type ?? 'object')}`;
  }
  return `Invalid ${where}: ${path ? `'${path}' ` : ''}${problem.message ?? 'is invalid'}`;
}

/**
 * fastify reports its own failures (schema validation, content type, body size) as plain errors
 * with a code; this turns them into the typed errors above so mapError stays the only mapping.
 */
export function fromFastifyError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const fastifyError = error as Error & FastifyErrorLike;
  if (Array.isArray(fastifyError.validation) && fastifyError.validation.length > 0) {
    const first = fastifyError.validation[0] as AjvErrorLike;
    return new RequestValidationError(describeValidation(fastifyError.validationContext, first));
  }
  if (fastifyError.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new MalformedJsonError('the body is not valid JSON');
  }
  const status = fastifyError.statusCode;
  if (typeof fastifyError.code === 'string' && fastifyError.code.startsWith('FST_') && status) {
    if (status >= 400 && status < 500) return new HttpError(status, fastifyError.message);
  }
  return error;
}
