"""The Skoltech Anomaly Benchmark (SKAB): read a local copy, or download it to a cache.

SKAB (https://github.com/waico/SKAB, GPL-3.0; Katser & Kozitsin 2020,
doi:10.34740/KAGGLE/DSV/1693952) holds 34 labelled experiments on a water-circulation
testbed, one injected fault each, plus one anomaly-free run. Files are ``;``-separated with a
``datetime`` column, eight sensor channels and float ``anomaly`` / ``changepoint`` labels. The
data is never bundled with seqae: :func:`load_skab` reads a folder you give it, or downloads
the files of one fixed upstream commit (checked by SHA-256) into a cache folder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from seqae.datasets.download import data_home, download_to, sha256_file
from seqae.datasets.sensors import SensorData, read_sensors

from seqae.errors import DataError, ParameterError

__all__ = ["SKAB_CHANNELS", "SKAB_GROUPS", "SkabExperiment", "load_skab"]

SKAB_CHANNELS = (
    "Accelerometer1RMS",
    "Accelerometer2RMS",
    "Current",
    "Pressure",
    "Temperature",
    "Thermocouple",
    "Voltage",
    "Volume Flow RateRMS",
)
SKAB_GROUPS = ("valve1", "valve2", "other", "anomaly-free")
_LABELS = ("anomaly", "changepoint")
_COMMIT = "b2c0d46c2971dcbfe71e26087b6d231998bb91c2"
_BASE_URL = f"https://raw.githubusercontent.com/waico/SKAB/{_COMMIT}/data"
# SHA-256 of every data file at _COMMIT, so a download is checked and a cache is trusted.
SHA256 = {
    "valve1/0.csv": "16af3f71313a23dd33d9b7b8065d836d05c3f9257588881cc7fbe07c076d9dc8",
    "valve1/1.csv": "fe4493bf805baef4e6dfb864094275d8cc2ea80a16b3735e2752b18b6aefd812",
    "valve1/2.csv": "90492413469261886c8896c327241448df5da73fd7739cabfec8dd82de3c0ce4",
    "valve1/3.csv": "cb6afea108eddfd8447307e405f86bbb764b8d8e9130d7849a46e1303e19b8b2",
    "valve1/4.csv": "983aed9dc09991a57911091373c580e1b86d06aa983cd51678f108fd8d709654",
    "valve1/5.csv": "78974991ec87b7f9b9b6b2944f4b525468a9beb36c59b06cd7650d9a15eca14a",
    "valve1/6.csv": "97469c0e0c9c0e0ee5d30794f1f36c6785df5816a112a8b16c59637e8c894685",
    "valve1/7.csv": "ca2c9c6d6fa302c642acec6fbedac495bd12fececeee0a755d45a54e340e0f30",
    "valve1/8.csv": "0c4afb92248b5b35b4c9d734a91ed8318346901f04579074903730569e60416c",
    "valve1/9.csv": "2aa1ae1b2ff505caecda24802b877dc686924bbbeeb7e7db4faa261efb5ed5bd",
    "valve1/10.csv": "ee16be8e4b870c779491e3d1dc9e0ecbfaf29eb013e032abff7a33f2cbbfe2ad",
    "valve1/11.csv": "89660fae4ed5c918db014409bbbc29f498fd99c7e956fab2620d18dea700a973",
    "valve1/12.csv": "90adfa9bc86d4556e6a4ce734436fd5685af79c189cd9828f8df75a7f468ce07",
    "valve1/13.csv": "d6cb6a97437215d3066a87e1fcc5fa4e68017629c043c5315920e3cf1060841c",
    "valve1/14.csv": "5f0bb9bc33c5e6c259263e32e25915c4d24c82b0a94554d48808626da05c1d71",
    "valve1/15.csv": "75cc86ab25d7091eee024739fa06d048753480d5d7d1507077231cab4f1b7a7e",
    "valve2/0.csv": "a6670e7a68c7c6ba62c649bd9d350633e80db624578e9529f2b736ced5e32bde",
    "valve2/1.csv": "b35d27f664eb0851ab73e5eb06633404c7eeaf532edff7e40c68eb9379f2012b",
    "valve2/2.csv": "2c3005cf28b88db715b7f4694e826ff252cba4dbb1eba679b040961f80477e60",
    "valve2/3.csv": "86927555d5c523e587d41500bd5dee4e2468289ec1b988ac17755aeae697d7f8",
    "other/1.csv": "3beaf861bdfe9b4f4eff8e7567c1dd3f506fbd0ce667fc9399d04bd2dc70623d",
    "other/2.csv": "951c326bf36366fa7615b8f28d22f80b3878036069a690f42b3e223737a6a8d1",
    "other/3.csv": "f3c19a89f74f62a475c246b9263f161f7a734dd88304de803939cebaa55c7ebd",
    "other/4.csv": "56ca23f4eb61d1347d079eb9a35c60a59b8b64e160c00dd0c2ec69e0df0b2a4b",
    "other/5.csv": "7347b326df3a92c0810c69add0e5621939af7a1c1cb4755081d088e72d36920f",
    "other/6.csv": "eb8f05622a62c855040ea358b87be35fb1a4a3720ba0610569bab384db4b6e04",
    "other/7.csv": "1bee14f49bfc817ba2c335fb427baa71153d8f8ab52e72652f15f74e4b77daec",
    "other/8.csv": "12c138ed99c198e0a7ece886fe01bfd16bbdde206fad6c5d74322b6b9d6488d0",
    "other/9.csv": "11c4514b0bc706acff637fea6707ad9258ac878fe9dff3d0b11d2b618d94d8ea",
    "other/10.csv": "72683644f6f17689f619076a66a9ec02cbc0502bd669924c4c33951d1bdad9b0",
    "other/11.csv": "98a2fff3b6516205ae2e12f2dd30d7f08465fe4321a1bd5cf823396985ecb37b",
    "other/12.csv": "b0882efbcf2669223ae78bee61c9f10074a9b2375f0e86b8957ae5ce4aad1e72",
    "other/13.csv": "b3f1da02064d11234836a9fa1a2536bb0d3b6c6998ab60b0b71869b98e94d860",
    "other/14.csv": "c7f361e55397cc9efd4a76b6876111eda79b650d10aeb007342ca5972152eaef",
    "anomaly-free/anomaly-free.csv": (
        "7641a8742957100ef424dd97adfb3eeab27d4d180645fe2b3c49b7f7146ae9a6"
    ),
}


@dataclass(frozen=True)
class SkabExperiment:
    """One SKAB file.

    Attributes
    ----------
    name : str
        ``"<group>/<number>"``, e.g. ``"valve1/0"`` (``"anomaly-free/anomaly-free"``).
    data : SensorData
        The eight channels (in :data:`SKAB_CHANNELS` order) with datetime time stamps.
    anomaly, changepoint : numpy.ndarray or None
        int8 ``(T,)`` labels; None for the anomaly-free run.

    Examples
    --------
    >>> import numpy as np
    >>> from seqae.datasets.sensors import SensorData
    >>> data = SensorData(np.zeros((3, 8), np.float32), list(SKAB_CHANNELS))
    >>> SkabExperiment("valve1/0", data, np.zeros(3, np.int8), np.zeros(3, np.int8)).group
    'valve1'
    """

    name: str
    data: SensorData
    anomaly: np.ndarray | None
    changepoint: np.ndarray | None

    @property
    def group(self) -> str:
        """The folder the file came from: valve1, valve2, other or anomaly-free."""
        return self.name.split("/")[0]


def _check_groups(groups: str | Sequence[str], include_anomaly_free: bool) -> list[str]:
    chosen = [groups] if isinstance(groups, str) else list(groups)
    if unknown := [g for g in chosen if g not in SKAB_GROUPS]:
        raise ParameterError(f"unknown SKAB group(s) {unknown}; choose among {SKAB_GROUPS}")
    if not chosen and not include_anomaly_free:
        raise ParameterError("groups is empty: name at least one SKAB group")
    if include_anomaly_free and "anomaly-free" not in chosen:
        chosen.append("anomaly-free")
    return list(dict.fromkeys(chosen))


def _files_of(root: Path, group: str) -> list[Path]:
    folder = root / group
    if not folder.is_dir():
        raise DataError(
            f"{root}: not the SKAB layout: the folder {group}/ is missing (expected valve1/, "
            "valve2/ and other/ holding numbered CSV files, and anomaly-free/anomaly-free.csv)"
        )
    if group == "anomaly-free":
        files = [folder / "anomaly-free.csv"]
        if not files[0].is_file():
            raise DataError(f"{folder}: not the SKAB layout: anomaly-free.csv is missing")
        return files
    files = sorted((f for f in folder.glob("*.csv") if f.stem.isdigit()), key=lambda f: int(f.stem))
    if not files:
        raise DataError(
            f"{folder}: not the SKAB layout: no numbered CSV files (0.csv, 1.csv, ...) in it"
        )
    return files


def _read_experiment(path: Path, group: str) -> SkabExperiment:
    labelled = group != "anomaly-free"
    try:
        data = read_sensors(
            path,
            time_column="datetime",
            columns=SKAB_CHANNELS,
            label_columns=_LABELS if labelled else None,
            sep=";",
        )
    except DataError as e:
        raise DataError(
            f"{e} (a SKAB file has ';'-separated columns datetime, "
            f"{', '.join(SKAB_CHANNELS)}{', anomaly, changepoint' if labelled else ''})"
        ) from e
    labels = data.labels or {}
    return SkabExperiment(
        name=f"{group}/{path.stem}",
        data=data,
        anomaly=labels.get("anomaly"),
        changepoint=labels.get("changepoint"),
    )


def _cache_root(cache_dir: str | os.PathLike[str] | None) -> Path:
    return Path(cache_dir) if cache_dir is not None else data_home() / "skab"


def _fetch(relative: str, target: Path) -> None:
    """Download one file of the fixed commit, check its hash, write it atomically."""
    download_to(
        f"{_BASE_URL}/{relative}",
        target,
        SHA256[relative],
        what=f"the SKAB file {relative} at commit {_COMMIT[:7]}",
        hint=(
            f"Or download the data/ folder of https://github.com/waico/SKAB (commit "
            f"{_COMMIT[:7]}) yourself and pass load_skab(path=<that folder>)"
        ),
    )


def download_groups(groups: list[str], cache_dir: str | os.PathLike[str] | None) -> Path:
    """Make sure the cache holds every file of ``groups``; fetch the missing or altered ones."""
    root = _cache_root(cache_dir)
    for relative in SHA256:
        target = root / relative
        if relative.split("/")[0] in groups and not (
            target.is_file() and sha256_file(target) == SHA256[relative]
        ):
            _fetch(relative, target)
    return root


def load_skab(
    path: str | os.PathLike[str] | None = None,
    *,
    groups: str | Sequence[str] = ("valve1", "valve2", "other"),
    include_anomaly_free: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
) -> list[SkabExperiment]:
    """Load SKAB experiments, one :class:`SkabExperiment` per file.

    Parameters
    ----------
    path : str or os.PathLike, optional
        A folder laid out like SKAB's ``data/``: ``valve1/0.csv``, ..., ``other/14.csv``,
        ``anomaly-free/anomaly-free.csv``. When None, the files of upstream commit
        ``b2c0d46`` are downloaded (once, checked by SHA-256) into ``cache_dir``, else
        ``$SEQAE_DATA/skab``, else ``~/.cache/seqae/skab``.
    groups : str or sequence of str, default ("valve1", "valve2", "other")
        Which folders to read, in this order; within a folder files go by number.
    include_anomaly_free : bool, default False
        Also read ``anomaly-free/anomaly-free.csv`` (after the groups).
    cache_dir : str or os.PathLike, optional
        Where downloads go when ``path`` is None.

    Returns
    -------
    list of SkabExperiment
        34 labelled experiments for the default groups.

    Raises
    ------
    DataError
        The folder is not SKAB's layout, a file lacks a column, or the download failed
        (offline, or content that does not match the expected hash).
    ParameterError
        An unknown group.

    Examples
    --------
    >>> experiments = load_skab("path/to/SKAB/data")  # doctest: +SKIP
    >>> experiments[0].name, experiments[0].data.values.shape  # doctest: +SKIP
    ('valve1/0', (1147, 8))
    """
    chosen = _check_groups(groups, include_anomaly_free)
    if path is None:
        root = download_groups(chosen, cache_dir)
    else:
        root = Path(path)
        if not root.is_dir():
            raise DataError(f"{root}: no such folder (expected SKAB's data/ folder)")
    layout = {group: _files_of(root, group) for group in chosen}  # check it all before reading
    return [_read_experiment(f, group) for group, files in layout.items() for f in files]
