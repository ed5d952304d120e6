-- The databases the platform needs besides `customers` (which POSTGRES_DB creates). Run by the
-- one-shot `create-databases` service of docker-compose.kafka.yml on every `up`, so it also
-- works on a volume created before a database was added. Idempotent: \gexec runs each CREATE
-- only when the database is missing.
SELECT 'CREATE DATABASE notifier'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'notifier')\gexec
