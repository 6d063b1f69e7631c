-- The language a customer reads: customer messages go out in it when their template
-- has a translation for it (definitions.MessageTemplate.Translations), else in German.
-- Staff messages are always German.

-- +goose Up
ALTER TABLE customers ADD COLUMN language text NOT NULL DEFAULT 'de'
	CONSTRAINT customers_language CHECK (language IN ('de', 'en'));

-- +goose Down
ALTER TABLE customers DROP COLUMN language;
