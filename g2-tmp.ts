import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true, writable: true });
const tg = await import('./src/index.js');
await tg.setBackend('webgpu');
const x = tg.tensor([[1, 5, 3], [7, 2, 0]]);
const idx = tg.argmax(x, { axis: 1 });
console.log('argmax', Array.from(await idx.data()), idx.dtype);
const idx2 = tg.argmax(x, { axis: 1 });
try { const y = tg.gather(tg.tensor([10, 20, 30]), idx2); console.log('gather', Array.from(await y.data())); } catch (e) { console.log('ERR', (e as Error).message.slice(0, 300)); }
try { const l = tg.crossEntropy(x, idx2); console.log('ce', Array.from(await l.data())); } catch (e) { console.log('ERR ce', (e as Error).message.slice(0, 300)); }
process.exit(0);
