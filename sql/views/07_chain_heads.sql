-- og.chain_heads: one row per chain with indexed blocks.
-- head_time is the latest indexed block time of that chain (max(block_time) in og.blocks): every
-- rolling window (7d, 30d) and every liveness test is anchored there, never at now(), so figures do
-- not decay while the indexer is stopped and a backfill of old data reads as of its own head.
-- payments_chain: the chain holds og.payments rows (Base 8453 in production);
-- inference_chain: it holds settlements, legacy inferences or TEE registry events (OpenGradient
-- 10740). The roles come from the rows, not from hard-coded chain ids, so a devnet with other ids
-- anchors the same way.
create or replace view og.chain_heads as
with recursive chains (chain_id) as (
    (select b.chain_id from og.blocks b order by b.chain_id limit 1)
    union all
    select (select b.chain_id from og.blocks b where b.chain_id > c.chain_id
            order by b.chain_id limit 1)
    from chains c
    where c.chain_id is not null
)
select
    c.chain_id,
    (select max(b.block_number) from og.blocks b where b.chain_id = c.chain_id) as head_block,
    (select max(b.block_time) from og.blocks b where b.chain_id = c.chain_id) as head_time,
    -- "first key >= chain_id" probes walk each table's primary key: O(log n) per chain.
    (select p.chain_id from og.payments p where p.chain_id >= c.chain_id
     order by p.chain_id limit 1) is not distinct from c.chain_id as payments_chain,
    ((select s.chain_id from og.settlements s where s.chain_id >= c.chain_id
      order by s.chain_id limit 1) is not distinct from c.chain_id
     or (select i.chain_id from og.inferences i where i.chain_id >= c.chain_id
         order by i.chain_id limit 1) is not distinct from c.chain_id
     or (select t.chain_id from og.tee_events t where t.chain_id >= c.chain_id
         order by t.chain_id limit 1) is not distinct from c.chain_id) as inference_chain
from chains c
where c.chain_id is not null;

comment on view og.chain_heads is
    'One row per indexed chain: latest indexed block (number, time) and whether it carries '
    'payments or inference/TEE rows. Anchor of every rolling window.';
