-- Run once by the postgres image on an empty data volume, as POSTGRES_USER
-- connected to POSTGRES_DB (orders): the sloctl server gets its own database.
CREATE DATABASE sloctl;
