DROP TABLE held_executions;
DELETE FROM customer_contacts WHERE deleted OR email IS NULL;
ALTER TABLE customer_contacts DROP COLUMN deleted, ALTER COLUMN email SET NOT NULL;
