// tg.data: datasets, batching and random splits (PyTorch's torch.utils.data, in one process).
/** PyTorch: torch.utils.data.Dataset — a length and get(i). */
export type { Dataset } from './dataset.js';
/** PyTorch: torch.utils.data.TensorDataset. */
export { TensorDataset } from './dataset.js';
/** PyTorch: torch.utils.data.Subset. */
export { Subset } from './dataset.js';
/** PyTorch: torch.utils.data.random_split. */
export { randomSplit } from './dataset.js';
/** PyTorch: torch.utils.data.DataLoader (single process). */
export { DataLoader, type DataLoaderOptions } from './loader.js';
/** PyTorch: torch.utils.data.default_collate. */
export { collate } from './loader.js';
