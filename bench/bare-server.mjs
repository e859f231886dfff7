// The baseline of the ingest benchmark: a bare fastify route on POST /v1/reports that takes the
// same bodies (fastify's JSON parser, same body limit) and answers without any work — no
// validation, no measurement, no store. Prints its URL as the collector's log line does.
import Fastify from 'fastify';

const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024, keepAliveTimeout: 65_000 });
app.post('/v1/reports', async (req) => {
  const reports = Array.isArray(req.body) ? req.body : [req.body];
  return { accepted: reports.length, results: reports.map((r) => ({ reportId: r.reportId, stored: true })) };
});
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ msg: 'listening', url })}\n`);
const stop = () => void app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
