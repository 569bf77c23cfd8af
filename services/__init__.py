"""Kehu CRM: five department services on a nameko/RabbitMQ bus."""
