DROP TABLE IF EXISTS order_executions;
