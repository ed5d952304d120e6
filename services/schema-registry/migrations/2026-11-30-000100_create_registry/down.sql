DROP TABLE subject_compatibility;
DROP TABLE global_compatibility;
DROP DOMAIN compatibility_level;
DROP TABLE subject_versions;
DROP TABLE schemas;
