-- The databases the platform needs besides `customers` (which POSTGRES_DB creates). Run by the
-- one-shot `create-databases` service of docker-compose.kafka.yml on every `up`, so it also
-- works on a volume created before a database was added. Idempotent: \gexec runs each CREATE
-- only when the database is missing.
SELECT 'CREATE DATABASE notifier'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'notifier')\gexec
SELECT 'CREATE DATABASE movies'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'movies')\gexec
SELECT 'CREATE DATABASE orders'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'orders')\gexec
SELECT 'CREATE DATABASE order_processor'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'order_processor')\gexec
SELECT 'CREATE DATABASE gateway'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'gateway')\gexec
