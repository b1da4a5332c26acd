create database shop;
\connect shop
-- Demo data: a small shop. Every change to these tables shows up in Elasticsearch.
create table customers (
  id serial primary key,
  name text not null,
  email text not null,
  city text,
  created_at timestamptz not null default now()
);
create table orders (
  id bigserial primary key,
  customer_id int not null references customers (id),
  total numeric(10, 2) not null,
  status text not null default 'new',
  placed_at timestamptz not null default now()
);
insert into customers (name, email, city)
select 'customer ' || i, 'customer' || i || '@example.com', (array['Lyon', 'Oslo', 'Porto', 'Turku'])[1 + i % 4]
from generate_series(1, 1000) as i;
insert into orders (customer_id, total, status)
select 1 + (i % 1000), round((random() * 500)::numeric, 2), (array['new', 'paid', 'shipped'])[1 + i % 3]
from generate_series(1, 5000) as i;
