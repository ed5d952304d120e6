DROP TABLE sent_notifications;
