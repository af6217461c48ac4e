-- Large values (legacy inference payloads, calldata, decoded request/response JSON) are compressed
-- with lz4 instead of the default pglz when the server has it (PostgreSQL 14+ built with lz4, as
-- most packages are): pglz was 8 % of Postgres's CPU in the backfill benchmark, lz4 compresses
-- several times faster. Only new values are affected; a server without lz4 keeps pglz.
do $$
begin
    alter table og.raw_logs alter column data set compression lz4;
    alter table og.transactions alter column input set compression lz4;
    alter table og.settlements alter column input_data set compression lz4,
                               alter column output_data set compression lz4;
    alter table og.inferences alter column request set compression lz4,
                              alter column response set compression lz4;
    alter table og.tee_events alter column args set compression lz4;
exception when feature_not_supported then
    raise notice 'this server has no lz4: large values stay compressed with pglz';
end
$$;
