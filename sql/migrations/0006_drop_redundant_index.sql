-- og.payments_payer (payer, block_time) where is_x402 duplicates payments_payer_time (0003): same
-- keys, same predicate, plus covering columns. Every payment insert paid for both.
drop index if exists og.payments_payer;
