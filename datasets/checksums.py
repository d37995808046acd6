# ruff: noqa: E501  (a table of 64-character sums)
"""SHA-256 sums that the benchmark fetchers (:mod:`seqae.datasets.benchmark`) check.

Where they come from: the project's reference copy of the datasets (``shared/datasets`` beside
the repository, which is not distributed), whose ``SOURCE.md`` files name the upstream
repository and commit of every file, and whose ``SHA256SUMS`` files were written when the files
were copied. Nothing here was typed by hand: the two tables were generated from that copy, and
``tests/test_benchmark_data.py`` checks them against it again wherever it is present.

- ``FILE_SHA256[dataset][path]``: files fetched byte for byte (SMD's and ASD's licences and
  interpretation labels, ASD's ``anomaly_type.txt``, all of MGAB and TEP): the lines of the
  reference copy's ``SHA256SUMS``. A download must have exactly this sum.
- ``ARRAYS_SHA256[dataset][name]``: files made here (``<name>.npz`` of SMD and ASD, converted
  from upstream text files or pickles). The sums of those raw upstream files were never
  recorded, so they cannot be checked directly; instead the converted arrays must have this
  :func:`seqae.datasets.benchmark.arrays_sha256`, computed on the reference copy's npz files.
  (SKAB's sums live in :mod:`seqae.datasets.skab`.)

Examples
--------
>>> len(FILE_SHA256["smd"]["LICENSE"]), sorted(ARRAYS_SHA256)
(64, ['asd', 'smd'])
"""

FILE_SHA256: dict[str, dict[str, str]] = {
    "smd": {
        "LICENSE": "c9bef1aab5be4ae6e0735a9f5974de043b8a1894bd8a2a7a163e36027b8895df",
        "interpretation_label/machine-1-2.txt": "761b4b339a14d4781f34a3cd03fb3d983b01e3bece3f638fa21bb887128d3a11",
        "interpretation_label/machine-1-3.txt": "dbe9970c43e64445b89211f26eb13f0eccb4da869deaea298218d7c094672c8f",
        "interpretation_label/machine-1-4.txt": "25978fb0b28261b327a6a50e21ec0c7a232b6a2ad796b1a023b7bfc3d3c19c8a",
        "interpretation_label/machine-1-5.txt": "c3ab9437aeb07763bba39298dc99905a9365f27f441411d979a9bb66e26a53e9",
        "interpretation_label/machine-1-6.txt": "2cc68339b99fbf9ec0891c2a081c2d05ee04087a766d6200572fc74e99867f8f",
        "interpretation_label/machine-1-7.txt": "3a272c538dce66358e9d8f7c18f62f14c652ffb1e52dfc18464cd092860a363b",
        "interpretation_label/machine-1-8.txt": "0908b5d09296f8379a70c055fdf7e5ebd5f19419e886eab7fca0c766512187ae",
        "interpretation_label/machine-2-1.txt": "fe4e3a67039d46045b9a3b18fd4dd6138f5c228447fcefb0c5f4beb1f46ede37",
        "interpretation_label/machine-2-2.txt": "a27f31facae7a9948ab6ba4ce039271df95763c53c1de7f7db699c317db7b233",
        "interpretation_label/machine-2-3.txt": "2ae064468235de25955439978c56d8fb217bf4682eab73636834e9d69086a777",
        "interpretation_label/machine-2-4.txt": "b559b694af8d02d23714ea74c526e85f951e1b57b0cb9d59dcd677da84947327",
        "interpretation_label/machine-2-5.txt": "7a83c2c8058f60c76c9b57cdeafb857594fc92c09f77fe704d2910f554b1cd87",
        "interpretation_label/machine-2-7.txt": "61b6ffc489cc22c3c08c514c59dde1bc6a0f3991cc964aff0626555e151241fe",
        "interpretation_label/machine-2-8.txt": "9d8a9f766645f5cca4c9dd48cbeea15db5defe872c0e6eb002e575a9c381c844",
        "interpretation_label/machine-3-2.txt": "3b76375af29ae9bd873f0746650d293cdb043235953c7b3ca19d893971a44c69",
        "interpretation_label/machine-3-3.txt": "25da8eda22a12fedc4a3009351d6bbbfa45ed5d5f7b7aaec458840bae2378239",
        "interpretation_label/machine-3-4.txt": "0a43f6c9ca99345a95ad7de615f275c72692c905e9e92061cdf28ce488a390fc",
        "interpretation_label/machine-3-5.txt": "baf251f03b57247b4f15f77e48f5238beb16a429c6211d599a825c69c23f6d96",
        "interpretation_label/machine-3-10.txt": "cd1f1df76a273f3df12bc5389850a0376a361256e0a9ebd6014e08e216661eb7",
    },
    "asd": {
        "LICENSE": "654f823ad45aae82c7aa9ee0a1fd9d80229cbc52eac4734985af60e4a7688262",
        "interpretation_label/anomaly_type.txt": "017773a80711d5fefc72cde27d419c176e85a535e826c8ef51a5724e270f201e",
        "interpretation_label/omi-1.txt": "d03906c87f70d10d8d0de424086c9f837897a606fe54562d3b76666b99fd17e8",
        "interpretation_label/omi-2.txt": "afd9d90f6723992c274012f4b304629a3b915cb2ae106f23934aa7c5b671276c",
        "interpretation_label/omi-3.txt": "81ccfb817099e2845d6e9f845e551b7648c7d183ac476aa85bae02756fbe3912",
        "interpretation_label/omi-4.txt": "30ec1acb59583bc87afac82873c2c0fb06a8a0c50719543088c15f8bef76203b",
        "interpretation_label/omi-5.txt": "c8eb89b8297f618a9dadfdbcab1ffc9e1b10478d1ae12d4aff3498878aa9b945",
        "interpretation_label/omi-6.txt": "609db4327c09e37ead6a9dc6123704d59106e4e4f82043fa7bbcb8e14c2ab4e3",
        "interpretation_label/omi-7.txt": "80edf70e850a851a31c6e8ea08268cf5665c00f5b3bc77a7533d2a8739cdff9e",
        "interpretation_label/omi-8.txt": "03eb7442a66a2be12db6514fea470aa5cecd7d37bcea7f5c0fddbd66266590e6",
        "interpretation_label/omi-9.txt": "46a8c5da54dce66c3eb820ae8b6147f6b69dca2833ecd365e4cf862c4627d911",
        "interpretation_label/omi-10.txt": "8c6a367421cdb6201ba9123bdfba207aae6ae47e8d2b2feca2a4ccfa7ac7467e",
        "interpretation_label/omi-11.txt": "12a6fcb2450cb06270c67632fe92bfa73739b2f016f8568dc047f887b5c88264",
        "interpretation_label/omi-12.txt": "18db10546e7667a7cef2289b235033b50ed62f15686eb93b8278491a32ce8ab0",
    },
    "mgab": {
        "1.csv": "4a56c6e74aec4df0397bbf3c1fae6b05f08994a7f418a851f1f8122753f5665e",
        "2.csv": "fb3f857d0df238e391c6ba8aae95ef8bb1ca0e7cae159a4479418c85bb263f8f",
        "3.csv": "ea254a33d05bb3f68f06086b1446ba264f6204feacabbb1b1020ea871787b008",
        "4.csv": "83351053cf6245047b7ccd8e791c158138a57f067d809c4124c3058aa45e27b2",
        "5.csv": "02621f7d1faf60a4854606036b07dd94a88621c88e7eec253708b70884ea141a",
        "6.csv": "c1a80d733a06c435602403ae9c448fd4fcd7de86e3da291937cda085f4c092c8",
        "7.csv": "c2259bc635fe1cf881ef42be77d5c3e4c5caa4b01a1f4abc8c45365681f23dfd",
        "8.csv": "0c1cfbda4d5e56dfdb0309089e0e347bddca654423dd1e05c92d1ee2bcb3836a",
        "9.csv": "1c72ce0d9a3499e8cc31cc72ea9f5cfd429488e3a7fc0d62ea20c303fa27fc76",
        "10.csv": "497ccae3b3cd9e77f5bb705ea3d3c2ffc9b09c737bcd0b58adcaeba3fa7bc857",
        "LICENSE": "a2010f343487d3f7618affe54f789f5487602331c0a8d03f49e9a7c547cf0499",
    },
    "tep": {
        "LICENSE": "70a00a943dd2ef2a1749e694fca4340b588a9c71764e9860d4854e1362a8030d",
        "d00.dat": "4c3c0b11eefacf93e5d2529e2866d7a625e37aa9153d0f95fae17a6c9e560deb",
        "d00_te.dat": "57d56da4199e3d73582855d810be1d13d931386fd728bf1694798c7b0a03678c",
        "d01.dat": "b0da22ac7561d82b0ba0b48bf87d2b3a8655cb23a3dc37330dd03cdd126c387c",
        "d01_te.dat": "e7e6992fb39664e739fccbc001a1c5d5f7cb21829544f734ca3f282c26f680e5",
        "d02.dat": "af1a46ba3a5482be3e7b143606f22ae509138544af2a2d0eb7389459257f8179",
        "d02_te.dat": "a34bd9c3693fa96bd3ee533fb7fbe29a9d226a4e3250b585ef1308e1136dbfb0",
        "d03.dat": "df39c57bdac7ea476ee236c289e0f59b0cbf868adfbbbaf213f692d8cd96e52a",
        "d03_te.dat": "b7bf6f2ed7cff0a5577898b009edd252b9bdf6ee9ff7dbeacf9af9aa4c6abace",
        "d04.dat": "346702fce33d9707f0b4ec5b8f533ccb08be60313607d5156d7e237b80a87b3f",
        "d04_te.dat": "1ccb488dd5feac11aad54623451168abef066229e685872597897800363916f9",
        "d05.dat": "3a47bfce4010ce0c634ae828409cce657ecd03bf0c4d59f8dd4a3d4f792f493f",
        "d05_te.dat": "1def7258a2865aeead699d52c8cf926fbf34c1467aaf298121987ab858fd0888",
        "d06.dat": "ff0882a44bb74f5d2d1a864425ac7e5ae82420391c7060232cefc08ad5bf7331",
        "d06_te.dat": "8a3adc7121eaa9b9300c27f9c57a8ab356315401cb964310a4a8244dd34bf79d",
        "d07.dat": "e3fd272ed53f899ab0c8278c7eede55418b01a2339b5fcff14a87fefaa3d181d",
        "d07_te.dat": "e01b7c81daf9fccc4495cbde5658296918276b3c078044893f6e945dd91d3446",
        "d08.dat": "4817735e339449bec909d1cbe77e421acc79c7357b8c6b5bb82c6e5788b72449",
        "d08_te.dat": "c0637f02f23b79890b43cfee9604818ad6d7f81532223d76acf1da0d6e2a2cc1",
        "d09.dat": "cb9146da760cdd52cad575d745413a5cfb4b447af2db9fb6a424cf6881ff0fcd",
        "d09_te.dat": "513df6c3a4fd48e0eaddb0002cd8cdab3a78a5c83c47883bb52d2dc6c2472428",
        "d10.dat": "e08697b5d074aea2345434bc4d26296f5dbdbb7efbf37a1bbee292b2ce765e8f",
        "d10_te.dat": "3a278be79d8d111fc60be3cfb4f961c28e2dc632f17eb519886aa0f95864ffc6",
        "d11.dat": "8294734d6f6e8f6b8643b9dc72f38ce40afd868d30dee9368a0d26b963a0af9f",
        "d11_te.dat": "6d60a4c932d918e1ab26ae5d16320936a665f3aad3f05482d23f5c4550b9f29a",
        "d12.dat": "62fcb3c71c0eda8eaaaf707f35296e60b17baaf9a9aef588687532cf4c560d38",
        "d12_te.dat": "2180fcecb01d1b110b429ba2969d6b18dcc625599e3640e54f69afa32dccbe50",
        "d13.dat": "f755d4ab6dc1d30e36c2e4604eeb0baff4b91032f487398b97fb1220eda861dd",
        "d13_te.dat": "2e34e0c427d6e41d77d6cae76550b7e95004f9f13bc093278ecf5c282a1c9f03",
        "d14.dat": "29fda7d5cae58cb7240e569e2d2d436371d077d282187d9205c7dc01df8755af",
        "d14_te.dat": "e8976d056c0769cebbcec3bcba89d2468040ccae7acbea55ebc3b2e56b217396",
        "d15.dat": "4c82fe0864cce2521e91a2c3e59d8630627c5e633cffe83f5e34ebc9901b5bca",
        "d15_te.dat": "a7242b956837bec8ca7f224d01805247f2aea6ea868eaa064e068b5c0761b1e5",
        "d16.dat": "ca1dfc5e31292052e83dcf6b4f60a73da197eb8a47e65d908ed7ac3cbcccb007",
        "d16_te.dat": "8381d7371aac49b498e7bf93149b77a0a6bbeffe73520881dcbe8ae96277244d",
        "d17.dat": "596aad6421a64d257bfa098cd5c4664d46dc49d88d1bad86cbc9518e6cd69e42",
        "d17_te.dat": "27d2d72052064e3cbb7a45df8073f15bb83b77403f532616e73c8869b043e7c9",
        "d18.dat": "b4d182c070036104cf150bc33f7aa879805f19943eb298bc05bdc8647dc70291",
        "d18_te.dat": "1db5b93a7daa58ed1b641845b58ad818546ced7f3de866c086da18a7ebef5041",
        "d19.dat": "ee3d2a50285cb3ba5e52ec05ea7cb39dc2b574bec592af9d44c192be132aeea6",
        "d19_te.dat": "c24dd77f787f89347273addc8a453d79f0b99edd64d43be11a5e0907bd515c5f",
        "d20.dat": "acdfe6c256fa6de74a811d6c7df1b710a9f0ed60f48242be92f3fa30db3df6b3",
        "d20_te.dat": "e54035eda95311f13dd095f87607d97a89b7541afa2a3f68af098f33a5e2e6e5",
        "d21.dat": "f34a9fefffef04ef1f49b3fb74e3def0010cda27a8577d814dd50604e2f8dc09",
        "d21_te.dat": "b6823aa09638cd59cb168bc24f991b6d4d557d8aea62b0b2a87ee67c21ba5a83",
        "readme.txt": "db068740d80b6f4883d9ef1e1e526b41accd9ac7421b1b11bb2a147bb171d7ee",
    },
}
ARRAYS_SHA256: dict[str, dict[str, str]] = {
    "smd": {
        "machine-1-2": "404062cecebb18b29fe0d50c629a0ee7593964c4fb5685ccdb355b163a90cfdf",
        "machine-1-3": "4132ee97d3af14092e67a8591ec8fa20f00b1bff3341eac93a0c0eaee5071838",
        "machine-1-4": "3a4c89359177ddc9f78f19056cb4bc52f78e101942cfaaff912c324d56211214",
        "machine-1-5": "8161e613b70b10d4bb3f99d32bfb9a2ee26c9002fdfc5e3a176d813615b89e94",
        "machine-1-6": "cf90832982cb4f34ba91c594bd0e7d6950f948f7a619e262691aca13e3087fba",
        "machine-1-7": "28c38a5a680b3f088ccc0d85188bfa4ad8e35c8c32bde892e6d4a4aaab429f6c",
        "machine-1-8": "1b6f46aa9c79f622e42d8822cd53fd90564525de137f1b220fdb87b290f1733d",
        "machine-2-1": "f95b95340e1e2801722fb6fc4448a1db91d0e0762da17509983e71ba81ecbb48",
        "machine-2-2": "a4172710d20b396a71d4d58c538b6cb646b00e413089a3d7334708e2373d2f22",
        "machine-2-3": "990b04315160a08719c1daf52b9275489c183474ef8a8a4b1568b3e00bae67c7",
        "machine-2-4": "5080148cb0c52ce46cbf9ffe5537bbd690d32871a25d7202d93c6ad08d372f46",
        "machine-2-5": "6ab95f9fd98f142539acb0faa640291990b5470524bdf0498b402c69d0207336",
        "machine-2-7": "8f8a316971de20f7cacd568e0776060a535963c58d4526f9e1027670dba314b0",
        "machine-2-8": "7ab8748f5215336aa36aef58da44af6e28a8eb405eba8385aa42bc2dced3f2b0",
        "machine-3-2": "8be2b48a0426a80bfaac118414d61ce29aa9f6e6eeb7b7dd9b49f7915b215309",
        "machine-3-3": "37981e6bef1374fca18c135534d1febf65cb51dfd3cd0688637530482046dde3",
        "machine-3-4": "0ebbad10805bbf4a5c2cc8d528fb22f4ea4b93a1a70ed1265c0d960b06746b4e",
        "machine-3-5": "f1a46b39c56454916b84062308a3b23ac6a3a65626dba245c6f346f452db30d0",
        "machine-3-10": "2b3fac2c40a6e8f4a93600cfb8ceef8c4f86face9bddb42b93183d491ca7f492",
    },
    "asd": {
        "omi-1": "898339fece823ac9d6ea0d9fb781a3d56e9ac3a59580673431ee4940f13a476c",
        "omi-2": "b152f63bc9fc774491ba741c1870b0528c1b04b73e1c21e08fa212a97673d6a3",
        "omi-3": "87d4753bc34558530a1df339f7cd770a606d6990486e6b04cf88bb0b7e8fe4a7",
        "omi-4": "bd0b7e91edf99b437a9862429ce6abb9ab3e7d94a8b8bc8d97ea473f3841ea57",
        "omi-5": "df890839cdf76bcf1999143df9c8ce14bb546de2440075b561c165841810720e",
        "omi-6": "11406fc8d9989d7710f55af8afa0b5d16a13aa684a879f0e717c288c7f67f6a0",
        "omi-7": "0aaee61291f7507a2a4b62b4d1e3f5f108a64591e6af754b339208a4a6826dd2",
        "omi-8": "f6950db876b5480a476403a9a8e766eac6770c55f226b9c3c4379266c6f663b5",
        "omi-9": "dcde1da3939a176dbb857b9b122bcfb3c492d9abb91db1e2b96c7bdbfe37358b",
        "omi-10": "e4d0bdc5a3da4f04c41b9efd3e65f4e927d09c74bdd7d89ed4b7f06015ce50da",
        "omi-11": "5c2a9ab3aa6040e1d6390a3b5dd13a3215db9471cdd618d289d4b3eeb4b4616d",
        "omi-12": "8461662ca78e19fa22ddb02fbf863332aefccb359b303d56e903a4321022f947",
    },
}
