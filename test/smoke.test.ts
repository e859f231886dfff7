import t from 'tap';
import { sampleOffset } from '@clockwatch/shared';
t.test('smoke', async (t) => {
  t.same(sampleOffset({ t1: 1e12, t2: 1e12 + 10, t3: 1e12 + 10, t4: 1e12 + 2 }), { offsetMs: -9, delayMs: 2 });
});
