DROP TABLE customer_contacts;
