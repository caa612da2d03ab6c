#!/usr/bin/env node
// A client in another language, built at run time from protos/ alone (proto-loader), calling
// the recsys gRPC server the way a channel app would. It decides nothing: it asks what the
// plan says, sends hostile requests, records a purchase, and prints every answer as JSON on
// stdout for tests/serving/test_node_client.py to judge.
//
// Usage: node client_check.js PLAN.json   (PLAN: see test_node_client.py; RECSYS_TARGET
// overrides plan.target)

'use strict';

const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTOS = path.resolve(__dirname, '..', '..', 'protos');
const PROTO_FILE = 'recsys/v1/recommendation.proto';
const DEADLINE_MS = 15000;

function loadService(target) {
  const definition = protoLoader.loadSync(PROTO_FILE, {
    includeDirs: [PROTOS],
    keepCase: true, // field names exactly as in the .proto (customer_id, not customerId)
    longs: String,
    enums: String,
    defaults: true, // unset fields come back as their proto3 defaults, not undefined
    oneofs: true,
  });
  const recsys = grpc.loadPackageDefinition(definition).recsys.v1;
  return new recsys.RecommendationService(target, grpc.credentials.createInsecure());
}

// One unary call as a promise of {ok, code, details, response}: never rejects.
function call(client, method, request) {
  return new Promise((resolve) => {
    const deadline = new Date(Date.now() + DEADLINE_MS);
    client[method](request, { deadline }, (err, response) => {
      if (err) {
        resolve({ ok: false, code: err.code, code_name: grpc.status[err.code],
                  details: err.details });
      } else {
        resolve({ ok: true, code: grpc.status.OK, response });
      }
    });
  });
}

function items(response) {
  return response.items.map((i) => ({
    product_id: i.product_id,
    rank: i.rank,
    score: i.score,
    reasons: i.reasons.map((r) => ({ code: r.code, text: r.text })),
  }));
}

async function recommendations(client, plan) {
  const out = [];
  const asks = [
    ...plan.known.map((id) => ({ customer_id: id, kind: 'known', context: {} })),
    ...plan.unknown.map((id) => ({ customer_id: id, kind: 'unknown', context: {} })),
    ...plan.with_context.map((c) => ({ customer_id: c.customer_id, kind: c.kind,
                                       context: c.context })),
  ];
  for (const channel of plan.channels) {
    for (const ask of asks) {
      const request = { customer_id: ask.customer_id, channel, k: 0, context: ask.context };
      const r = await call(client, 'Recommend', request);
      out.push({ ...ask, channel, ok: r.ok, code: r.code, details: r.details || '',
                 items: r.ok ? items(r.response) : [],
                 model_version: r.ok ? r.response.model_version : '',
                 echoed_customer_id: r.ok ? r.response.customer_id : '' });
    }
  }
  return out;
}

async function batches(client, plan) {
  const ids = [...plan.known, ...plan.unknown];
  const out = [];
  for (const channel of plan.channels) {
    const r = await call(client, 'RecommendBatch', { customer_ids: ids, channel, k: 0 });
    out.push({ channel, ok: r.ok, code: r.code, details: r.details || '',
               results: r.ok ? r.response.results.map((x) => ({
                 customer_id: x.customer_id, items: items(x) })) : [] });
  }
  return out;
}

// Each case: what a careless or hostile caller sends, and the field the error must name.
function hostileCases(plan) {
  const known = plan.known[0];
  const product = plan.some_product;
  const event = (over) => ({ events: [{ customer_id: known, product_id: product,
                                        type: 'view', channel: 'web', ...over }] });
  const future = { seconds: String(Math.floor(Date.UTC(2100, 0, 1) / 1000)), nanos: 0 };
  const many = Array.from({ length: 1001 }, (_, i) => `C${i}`);
  return [
    ['empty customer id', 'Recommend', { customer_id: '', channel: 'mobile' }, 'customer_id'],
    ['oversized customer id', 'Recommend',
      { customer_id: 'X'.repeat(10000), channel: 'mobile' }, 'customer_id'],
    ['customer id with spaces', 'Recommend', { customer_id: ` ${known} `, channel: 'mobile' },
      'customer_id'],
    ['k = 500', 'Recommend', { customer_id: known, channel: 'mobile', k: 500 }, 'k'],
    ['negative k', 'Recommend', { customer_id: known, channel: 'mobile', k: -1 }, 'k'],
    ['unknown channel', 'Recommend', { customer_id: known, channel: 'fax' }, 'channel'],
    ['empty channel', 'Recommend', { customer_id: known, channel: '' }, 'channel'],
    ['risk tolerance out of range in context', 'Recommend',
      { customer_id: 'NEW-hostile', channel: 'web', context: { risk_tolerance: '9' } },
      'context'],
    ['unknown context key', 'Recommend',
      { customer_id: 'NEW-hostile', channel: 'web', context: { 'no-such-field': 'x' } },
      'context'],
    ['too many excluded products', 'Recommend',
      { customer_id: known, channel: 'web', exclude_product_ids: many.slice(0, 101) },
      'exclude_product_ids'],
    ['oversized batch', 'RecommendBatch', { customer_ids: many, channel: 'call_center' },
      'customer_ids'],
    ['empty batch', 'RecommendBatch', { customer_ids: [], channel: 'call_center' },
      'customer_ids'],
    ['unknown event type', 'RecordEvents', event({ type: 'refund' }), 'events[0].type'],
    ['empty event type', 'RecordEvents', event({ type: '' }), 'events[0].type'],
    ['event on an unknown channel', 'RecordEvents', event({ channel: 'fax' }),
      'events[0].channel'],
    ['event for an unknown product', 'RecordEvents', event({ product_id: 'NO-SUCH-PRODUCT' }),
      'events[0].product_id'],
    ['event with an empty customer id', 'RecordEvents', event({ customer_id: '' }),
      'events[0].customer_id'],
    ['event stamped in 2100', 'RecordEvents', event({ timestamp: future }),
      'events[0].timestamp'],
    ['no events', 'RecordEvents', { events: [] }, 'events'],
    ['empty product id', 'SimilarProducts', { product_id: '', k: 3 }, 'product_id'],
    ['similar k = 500', 'SimilarProducts', { product_id: product, k: 500 }, 'k'],
  ];
}

async function hostile(client, plan) {
  const out = [];
  for (const [name, method, request, field] of hostileCases(plan)) {
    const r = await call(client, method, request);
    out.push({ name, method, field, ok: r.ok, code: r.code, code_name: r.code_name || 'OK',
               details: r.details || '' });
  }
  return out;
}

// Ask, buy the first suggested product the plan lists as non-repeatable, ask again.
async function purchase(client, plan) {
  const p = plan.purchase;
  const ask = { customer_id: p.customer_id, channel: p.channel, k: p.k };
  const before = await call(client, 'Recommend', ask);
  if (!before.ok) return { before_ok: false, code: before.code, details: before.details };
  const candidates = new Set(p.candidates);
  const shown = before.response.items.map((i) => i.product_id);
  const bought = shown.find((id) => candidates.has(id)) || null;
  let recorded = null;
  if (bought !== null) {
    recorded = await call(client, 'RecordEvents', { events: [{
      customer_id: p.customer_id, product_id: bought, type: 'purchase', channel: p.channel,
      request_id: before.response.request_id, amount: 250.0 }] });
  }
  const after = await call(client, 'Recommend', ask);
  return {
    before_ok: true,
    before: shown,
    bought,
    recorded_ok: recorded ? recorded.ok : false,
    accepted: recorded && recorded.ok ? recorded.response.accepted : 0,
    recorded_details: recorded && !recorded.ok ? recorded.details : '',
    after_ok: after.ok,
    after: after.ok ? after.response.items.map((i) => i.product_id) : [],
  };
}

async function main() {
  if (process.argv.length !== 3) {
    process.stderr.write('usage: node client_check.js PLAN.json\n');
    process.exit(2);
  }
  const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const target = process.env.RECSYS_TARGET || plan.target;
  const client = loadService(target);
  const info = await call(client, 'GetModelInfo', {});
  const result = {
    target,
    model_info: info.ok ? { version: info.response.version, family: info.response.family,
                            alias: info.response.alias } : { error: info.details },
    recommend: await recommendations(client, plan),
    batches: await batches(client, plan),
    hostile: await hostile(client, plan),
    purchase: await purchase(client, plan),
  };
  client.close();
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((err) => {
  process.stderr.write(`client_check failed: ${err.stack || err}\n`);
  process.exit(1);
});
