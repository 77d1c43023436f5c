-- Long-context prices: a request whose input (input + cache writes + cache reads) passes
-- long_context_threshold tokens is charged the five lc_* prices instead (micro-USD per million
-- tokens). All NULL = the model has no long-context prices.
ALTER TABLE models ADD COLUMN long_context_threshold INTEGER;
ALTER TABLE models ADD COLUMN lc_input_price INTEGER;
ALTER TABLE models ADD COLUMN lc_output_price INTEGER;
ALTER TABLE models ADD COLUMN lc_cache_write_5m_price INTEGER;
ALTER TABLE models ADD COLUMN lc_cache_write_1h_price INTEGER;
ALTER TABLE models ADD COLUMN lc_cache_read_price INTEGER;
