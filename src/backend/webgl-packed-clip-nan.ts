// TF.js 4.22's webgl ClipByValue, in its packed form (WEBGL_PACK_CLIP, on by default), clamps four
// entries at once and returns all four unclamped when any of them is NaN: on a packed texture,
// clip([NaN, 3, −3, 0.2], −1, −0.5) kept 3, −3 and 0.2, and a packed scalar whose unused lanes hold
// NaN (a determinant's) was not clamped at all. The replacement runs TF.js's kernel with the flag
// off for the call: its per-entry program, which leaves NaN alone and clamps each other entry.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc } from '@tensorflow/tfjs-core';
import { replaceKernel } from './kernel-replacement.js';

/** Replaces webgl's ClipByValue by TF.js's per-entry program (once). */
export function fixWebGLPackedClip(): void {
  replaceKernel(
    'webgl',
    'ClipByValue',
    (original): KernelFunc =>
      (args) => {
        const env = tf.env();
        const packed = env.getBool('WEBGL_PACK_CLIP');
        if (!packed) return original(args);
        env.set('WEBGL_PACK_CLIP', false);
        try {
          return original(args);
        } finally {
          env.set('WEBGL_PACK_CLIP', true);
        }
      },
  );
}
