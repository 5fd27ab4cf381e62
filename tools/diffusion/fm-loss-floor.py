#!/usr/bin/env python3
"""Reference levels of the GLFM validation flow-matching loss on Fashion-MNIST (packages/diffusion/README.md).

With x_t = (1 - t) x0 + t eps and the target v = eps - x0 (per-element MSE, images scaled to [-1, 1]):
- a model that ignores x_t can at best predict E[v | t, c] = -mu_c (the class mean), so its loss is
  1 + E||x0 - mu_c||^2 / 784 (the noise's variance plus the within-class pixel variance);
- a model whose input does not determine eps per pixel keeps at least Var(eps) = 1 of it.

  python3 tools/diffusion/fm-loss-floor.py [--data /usr/share/datasets/fashion-mnist] [--val 1000]
"""
import argparse
import gzip
import os

import numpy as np


def idx(path, offset):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        return np.frombuffer(f.read()[offset:], np.uint8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default='/usr/share/datasets/fashion-mnist')
    ap.add_argument('--val', type=int, default=1000, help='the recipe validates on the first N test images (valSize)')
    a = ap.parse_args()
    find = lambda stem: next(os.path.join(a.data, stem + e) for e in ('.gz', '') if os.path.exists(os.path.join(a.data, stem + e)))
    xt = idx(find('train-images-idx3-ubyte'), 16).reshape(-1, 784).astype(np.float64) * 2 / 255 - 1
    yt = idx(find('train-labels-idx1-ubyte'), 8)
    xv = idx(find('t10k-images-idx3-ubyte'), 16).reshape(-1, 784)[: a.val].astype(np.float64) * 2 / 255 - 1
    yv = idx(find('t10k-labels-idx1-ubyte'), 8)[: a.val]
    mu = np.stack([xt[yt == c].mean(0) for c in range(10)])
    within = ((xv - mu[yv]) ** 2).mean()
    print(f'validation images: {a.val}')
    print(f'loss of the best prediction that ignores x_t (1 + within-class variance): {1 + within:.4f}')
    print(f'floor of any model that cannot see the per-pixel noise: 1.0000 (+ what it cannot explain of x0, at most {within:.4f})')


if __name__ == '__main__':
    main()
