"""The classic autoencoder demo on seqae's one core: bottlenecks, reconstructions, latent space.

    python examples/image_demo.py                       # scikit-learn's 8×8 digits, no download
    python examples/image_demo.py --dataset mnist       # MNIST 28×28 (downloads once, cached)
    python examples/image_demo.py --output-dir out/ --epochs 100

It writes, under ``--output-dir`` (default ``demo-out/images/``):

- ``reconstructions.png``: test originals in the top row, then one row of reconstructions per
  bottleneck (32, 16, 8) of a dense autoencoder (sigmoid output, BCE loss, min-max scaling);
- ``latent_space.png``: the 32-unit codes (``Detector.transform``) projected to 2-D with PCA,
  coloured by the true class, next to the same points coloured by KMeans clusters of the codes;

and prints the reconstruction error per bottleneck and how well the clusters agree with the
labels (adjusted Rand index, normalised mutual information).

Needs matplotlib (``pip install 'seqae[plot]'``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

BOTTLENECKS = (32, 16, 8)


def load(dataset: str, cache_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
    from seqae.datasets import load_digits, load_mnist

    data = load_digits() if dataset == "digits" else load_mnist(cache_dir)
    return data.images, data.labels


def split(n: int, test_share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(n * test_share)
    return order[n_test:], order[:n_test]


def fit_dense(images: np.ndarray, bottleneck: int, epochs: int, seed: int):
    from seqae import Detector

    hidden = (128, bottleneck) if images.shape[-1] <= 8 else (256, bottleneck)
    return Detector(
        model="dense",
        scaler="minmax",
        model_params={"hidden": hidden, "output_activation": "sigmoid"},
        train_params={"loss": "bce"},
        epochs=epochs,
        batch_size=64,
        learning_rate=2e-3,
        patience=10,
        random_state=seed,
    ).fit(images)


def plot_reconstructions(originals: np.ndarray, recons: dict[int, np.ndarray], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [("original", originals), *((f"bottleneck {k}", r) for k, r in recons.items())]
    n = len(originals)
    fig, axes = plt.subplots(len(rows), n, figsize=(n * 0.9, len(rows) * 1.0))
    for r, (title, images) in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(images[c], cmap="gray_r", vmin=originals.min(), vmax=originals.max())
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(title, rotation=0, ha="right", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_latent(points: np.ndarray, labels: np.ndarray, clusters: np.ndarray, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    for ax, colour, title in (
        (axes[0], labels, "PCA of the codes, coloured by class"),
        (axes[1], clusters, "KMeans clusters of the codes"),
    ):
        scatter = ax.scatter(points[:, 0], points[:, 1], c=colour, cmap="tab10", s=6)
        ax.set_title(title)
        ax.set_xlabel("PC 1")
        ax.set_ylabel("PC 2")
        ax.legend(*scatter.legend_elements(), fontsize=7, loc="best", markerscale=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["digits", "mnist"], default="digits")
    parser.add_argument("--output-dir", type=Path, default=Path("demo-out/images"))
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--n-show", type=int, default=10, help="Test images shown.")
    parser.add_argument("--cache-dir", help="MNIST cache folder [default: ~/.cache/seqae].")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    images, labels = load(args.dataset, args.cache_dir)
    train_idx, test_idx = split(len(images), 0.2, args.seed)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    test = images[test_idx]
    shown = test[: args.n_show]

    print(f"{args.dataset}: {len(train_idx):,} training and {len(test_idx):,} test images")
    print(f"\n{'bottleneck':>10}  {'test MSE [0-1]':>14}  {'test BCE':>9}  {'epochs':>6}  {'s':>5}")
    recons, detectors = {}, {}
    top = float(images.max())
    for k in BOTTLENECKS:
        t0 = time.perf_counter()
        det = fit_dense(images[train_idx], k, args.epochs, args.seed)
        recon = det.reconstruct(test)[:, 0]
        x, r = test / top, np.clip(recon / top, 1e-7, 1 - 1e-7)
        mse = float(np.mean((x - r) ** 2))
        bce = float(np.mean(-(x * np.log(r) + (1 - x) * np.log(1 - r))))
        took = time.perf_counter() - t0
        epochs = len(det.history_["epochs"])
        print(f"{k:>10}  {mse:>14.5f}  {bce:>9.4f}  {epochs:>6}  {took:>5.1f}")
        recons[k], detectors[k] = recon[: args.n_show], det
    plot_reconstructions(shown, recons, args.output_dir / "reconstructions.png")

    codes = detectors[BOTTLENECKS[0]].transform(test)
    points = PCA(2, random_state=args.seed).fit_transform(codes)
    n_classes = len(np.unique(labels))
    clusters = KMeans(n_classes, n_init=10, random_state=args.seed).fit_predict(codes)
    truth = labels[test_idx]
    ari = adjusted_rand_score(truth, clusters)
    nmi = normalized_mutual_info_score(truth, clusters)
    plot_latent(points, truth, clusters, args.output_dir / "latent_space.png")
    print(
        f"\nKMeans ({n_classes} clusters) of the {codes.shape[1]}-unit codes vs the labels: "
        f"adjusted Rand index {ari:.3f}, normalised mutual information {nmi:.3f}"
    )
    written = [args.output_dir / name for name in ("reconstructions.png", "latent_space.png")]
    print(f"wrote {written[0]} and {written[1]}")


if __name__ == "__main__":
    main()
