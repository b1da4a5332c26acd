# The Kafki worker image used by the docker-compose demo.
FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ curl \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
EXPOSE 8083
ENTRYPOINT ["node", "bin/kafki"]
CMD ["standalone", "/demo/worker.json"]
