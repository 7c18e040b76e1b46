//! Tests of `mlp_tune::datasets`: embedded sets, the CSV loader, Géron's split, and
//! the California housing loader (download path against a local HTTP server; the real
//! file through `MLP_TUNE_DATA`).

use std::path::PathBuf;

use mlp_tune::datasets::{self, CsvOptions, FetchOptions, TargetColumn};
use mlp_tune::MlpTuneError;

fn class_counts(targets: &[usize], n_classes: usize) -> Vec<usize> {
    let mut counts = vec![0; n_classes];
    for &t in targets {
        counts[t] += 1;
    }
    counts
}

/// A fresh, empty directory under the system temp dir.
fn temp_dir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "mlp-tune-test-{tag}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn digits_shape_names_and_counts() {
    let d = datasets::digits();
    assert_eq!(d.records().dim(), (1797, 64));
    assert_eq!(d.feature_names()[0], "pixel_0_0");
    assert_eq!(d.feature_names()[9], "pixel_1_1");
    assert_eq!(d.feature_names()[63], "pixel_7_7");
    assert_eq!(
        class_counts(d.targets().as_slice().unwrap(), 10),
        [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    );
    assert!(d.records().iter().all(|&v| (0.0..=16.0).contains(&v)));
    assert_eq!(d.records()[[0, 2]], 5.0);
    assert_eq!(d.targets()[0], 0);

    assert_eq!(datasets::digits_n_class(3).unwrap().records().nrows(), 537);
    assert!(datasets::digits_n_class(0).is_err());
    assert!(datasets::digits_n_class(11).is_err());
}

#[test]
fn iris_shape_names_and_counts() {
    let d = datasets::iris();
    assert_eq!(d.records().dim(), (150, 4));
    assert_eq!(
        d.feature_names(),
        [
            "sepal length (cm)",
            "sepal width (cm)",
            "petal length (cm)",
            "petal width (cm)"
        ]
    );
    assert_eq!(
        class_counts(d.targets().as_slice().unwrap(), 3),
        [50, 50, 50]
    );
    assert_eq!(d.records().row(0).to_vec(), [5.1, 3.5, 1.4, 0.2]);
    assert_eq!(
        datasets::IRIS_CLASS_NAMES,
        ["setosa", "versicolor", "virginica"]
    );
}

#[test]
fn breast_cancer_shape_names_and_counts() {
    let d = datasets::breast_cancer();
    assert_eq!(d.records().dim(), (569, 30));
    assert_eq!(d.feature_names().len(), 30);
    assert_eq!(d.feature_names()[0], "mean radius");
    assert_eq!(d.feature_names()[29], "worst fractal dimension");
    assert_eq!(class_counts(d.targets().as_slice().unwrap(), 2), [212, 357]);
    assert_eq!(d.records()[[0, 0]], 17.99);
    assert_eq!(datasets::BREAST_CANCER_CLASS_NAMES, ["malignant", "benign"]);
}

#[test]
fn wine_shape_names_and_counts() {
    let d = datasets::wine();
    assert_eq!(d.records().dim(), (178, 13));
    assert_eq!(d.feature_names()[0], "alcohol");
    assert_eq!(d.feature_names()[11], "od280/od315_of_diluted_wines");
    assert_eq!(d.feature_names()[12], "proline");
    assert_eq!(
        class_counts(d.targets().as_slice().unwrap(), 3),
        [59, 71, 48]
    );
    assert_eq!(d.records()[[0, 12]], 1065.0);
}

#[test]
fn diabetes_raw_first_row() {
    let d = datasets::diabetes();
    assert_eq!(d.records().dim(), (442, 10));
    assert_eq!(
        d.feature_names(),
        ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    );
    assert_eq!(
        d.records().row(0).to_vec(),
        [59.0, 2.0, 32.1, 101.0, 157.0, 93.2, 38.0, 4.0, 4.8598, 87.0]
    );
    assert_eq!(d.targets()[0], 151.0);
    assert_eq!(d.targets()[1], 75.0);
}

// ---------------------------------------------------------------- load_csv

fn parse_err(text: &str, options: &CsvOptions) -> (usize, usize, String) {
    match datasets::read_csv(text.as_bytes(), options) {
        Err(MlpTuneError::Parse {
            line,
            column,
            reason,
        }) => (line, column, reason),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn csv_reads_header_and_target_choices() {
    let text = "a, b ,price,c\n1,2,3,4\n5,6,7,8\n";
    let last = datasets::read_csv(text.as_bytes(), &CsvOptions::default()).unwrap();
    assert_eq!(last.feature_names(), ["a", "b", "price"]);
    assert_eq!(last.target_names(), ["c"]);
    assert_eq!(last.targets().to_vec(), [4.0, 8.0]);

    let by_name = CsvOptions::default().target(TargetColumn::Name("price".into()));
    let d = datasets::read_csv(text.as_bytes(), &by_name).unwrap();
    assert_eq!(d.feature_names(), ["a", "b", "c"]);
    assert_eq!(d.records().row(1).to_vec(), [5.0, 6.0, 8.0]);
    assert_eq!(d.targets().to_vec(), [3.0, 7.0]);

    let by_index = CsvOptions::default().target(TargetColumn::Index(0));
    let d = datasets::read_csv(text.as_bytes(), &by_index).unwrap();
    assert_eq!(d.targets().to_vec(), [1.0, 5.0]);

    let no_header = CsvOptions::default().has_header(false).delimiter(b';');
    let d = datasets::read_csv("1;2\n3;4\n".as_bytes(), &no_header).unwrap();
    assert_eq!(d.feature_names(), ["x0"]);
    assert_eq!(d.records().dim(), (2, 1));

    let missing = CsvOptions::default().target(TargetColumn::Name("nope".into()));
    assert!(matches!(
        datasets::read_csv(text.as_bytes(), &missing),
        Err(MlpTuneError::InvalidInput(_))
    ));
    let out_of_range = CsvOptions::default().target(TargetColumn::Index(4));
    assert!(datasets::read_csv(text.as_bytes(), &out_of_range).is_err());
    assert!(datasets::read_csv("a,b\n".as_bytes(), &CsvOptions::default()).is_err());
    assert!(datasets::read_csv("".as_bytes(), &CsvOptions::default()).is_err());
    assert!(datasets::read_csv("a\n1\n".as_bytes(), &CsvOptions::default()).is_err());
}

#[test]
fn csv_errors_name_line_and_column() {
    let o = CsvOptions::default();
    let (line, column, reason) = parse_err("a,b,y\n1,2,3\n4,x5,6\n", &o);
    assert_eq!((line, column), (3, 2));
    assert!(reason.contains("x5"), "{reason}");

    let (line, column, reason) = parse_err("a,b,y\n1,2,3\n4,,6\n", &o);
    assert_eq!((line, column), (3, 2));
    assert!(reason.contains("empty"), "{reason}");

    let (line, column, _) = parse_err("a,b,y\n1,2,3\n4,5,NaN\n", &o);
    assert_eq!((line, column), (3, 3));
    let (line, column, _) = parse_err("a,b,y\n1,2,3\n4,5,nan\n", &o);
    assert_eq!((line, column), (3, 3));
    let (line, column, _) = parse_err("a,b,y\ninf,2,3\n", &o);
    assert_eq!((line, column), (2, 1));

    let (line, _, reason) = parse_err("a,b,y\n1,2,3\n4,5\n", &o);
    assert_eq!(line, 3);
    assert!(reason.contains("expected 3 fields, found 2"), "{reason}");
    let (line, _, _) = parse_err("a,b,y\n1,2,3\n4,5,6,7\n", &o);
    assert_eq!(line, 3);

    let err = datasets::read_csv("a,y\n1,2\n\n3,x\n".as_bytes(), &o).unwrap_err();
    assert_eq!(
        err.to_string(),
        "parse error at line 4, column 2: `x` is not a number"
    );
    // Blank lines and a quoted field spanning two lines still count as lines.
    let (line, column, _) = parse_err("a,y\n\n\"1\n\",2\r\n\r\n\n3,x\n", &o);
    assert_eq!((line, column), (7, 2));
}

#[test]
fn load_csv_reads_a_file_and_reports_missing_files() {
    let dir = temp_dir("csv");
    let path = dir.join("data.csv");
    std::fs::write(&path, "f1,f2,target\n1.5,2,0.25\n-3,4e2,1\n").unwrap();
    let d = datasets::load_csv(&path, &CsvOptions::default()).unwrap();
    assert_eq!(d.records().row(1).to_vec(), [-3.0, 400.0]);
    assert_eq!(d.targets().to_vec(), [0.25, 1.0]);
    let missing = datasets::load_csv(dir.join("missing.csv"), &CsvOptions::default());
    assert!(matches!(missing, Err(MlpTuneError::IoError { .. })));
    let err = missing.unwrap_err();
    assert_eq!(err.io_kind(), Some(std::io::ErrorKind::NotFound));
    assert!(err.to_string().contains("missing.csv"), "{err}");
    // The operating system's error is kept as the source.
    let source = std::error::Error::source(&err).expect("a source");
    assert!(source.downcast_ref::<std::io::Error>().is_some());
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- split

#[test]
fn textbook_split_first_rows() {
    let s = datasets::california_textbook_split(20640).unwrap();
    assert_eq!(
        (s.train.len(), s.valid.len(), s.test.len()),
        (11610, 3870, 5160)
    );
    assert_eq!(&s.test[..3], [20046, 3024, 15663]);
    assert_eq!(&s.train[..3], [16860, 12184, 19319]);
    assert_eq!(&s.valid[..3], [10919, 16047, 14172]);
    let mut all: Vec<usize> = s
        .train
        .iter()
        .chain(&s.valid)
        .chain(&s.test)
        .copied()
        .collect();
    all.sort_unstable();
    assert!(all.iter().enumerate().all(|(i, &r)| i == r));

    for n in [3, 4, 5, 10, 101] {
        let s = datasets::california_textbook_split(n).unwrap();
        let n_test = n.div_ceil(4);
        assert_eq!(s.test.len(), n_test);
        assert_eq!(s.valid.len(), (n - n_test).div_ceil(4));
        assert_eq!(s.train.len() + s.valid.len() + s.test.len(), n);
    }
    assert!(datasets::california_textbook_split(0).is_err());
    assert!(datasets::california_textbook_split(2).is_err());

    let d = datasets::iris();
    let (train, valid, test) = datasets::california_textbook_split(150)
        .unwrap()
        .subsets(&d)
        .unwrap();
    assert_eq!(
        (
            train.records().nrows(),
            valid.records().nrows(),
            test.records().nrows()
        ),
        (84, 28, 38)
    );
    assert_eq!(train.feature_names(), d.feature_names());
    assert!(datasets::california_textbook_split(200)
        .unwrap()
        .subsets(&d)
        .is_err());
}

// ---------------------------------------------------------------- california, no network

#[test]
fn california_reads_cache_dir_and_reports_missing_data() {
    let dir = temp_dir("cache-read");
    let options = FetchOptions::default()
        .use_env(false)
        .embedded(false)
        .cache_dir(&dir)
        .download(false);
    let err = datasets::california_housing_from(&options).unwrap_err();
    assert!(matches!(err, MlpTuneError::Download(_)));
    assert!(err.to_string().contains("MLP_TUNE_DATA"), "{err}");

    std::fs::write(
        dir.join(datasets::CALIFORNIA_HOUSING_FILE),
        "MedInc,HouseAge,AveRooms,AveBedrms,Population,AveOccup,Latitude,Longitude,MedHouseVal\n\
         8.3252,41.0,6.984126984126984,1.0238095238095237,322.0,2.5555555555555554,37.88,-122.23,4.526\n",
    )
    .unwrap();
    let d = datasets::california_housing_from(&options).unwrap();
    assert_eq!(d.records().dim(), (1, 8));
    assert_eq!(d.feature_names(), datasets::CALIFORNIA_FEATURE_NAMES);
    assert_eq!(d.target_names(), ["MedHouseVal"]);
    assert_eq!(d.targets()[0], 4.526);

    // A cache file with the wrong header is refused, not misread.
    std::fs::write(
        dir.join(datasets::CALIFORNIA_HOUSING_FILE),
        "a,b,c,d,e,f,g,h,y\n1,2,3,4,5,6,7,8,9\n",
    )
    .unwrap();
    assert!(matches!(
        datasets::california_housing_from(&options),
        Err(MlpTuneError::Parse { line: 1, .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- california, embedded

/// The embedded copy is found with no environment variable, no cache and no network,
/// and holds scikit-learn's numbers (column means and first row from
/// ../shared/datasets/README.md).
#[cfg(feature = "embedded-california")]
#[test]
fn california_embedded_needs_no_env_cache_or_network() {
    let empty_cache = temp_dir("embedded");
    let options = FetchOptions::default()
        .use_env(false)
        .cache_dir(&empty_cache)
        .download(false);
    let d = datasets::california_housing_from(&options).unwrap();
    assert_eq!(d.records().dim(), (20640, 8));
    assert_eq!(d.feature_names(), datasets::CALIFORNIA_FEATURE_NAMES);
    assert_eq!(d.target_names(), ["MedHouseVal"]);
    assert_eq!(
        d.records().row(0).to_vec(),
        [
            8.3252,
            41.0,
            6.984126984126984,
            1.0238095238095237,
            322.0,
            2.5555555555555554,
            37.88,
            -122.23
        ]
    );
    assert_eq!(d.targets()[0], 4.526);
    let means = d.records().mean_axis(ndarray::Axis(0)).unwrap();
    assert!((means[4] - 1425.476744).abs() < 1e-6, "{}", means[4]);
    assert!((d.targets().mean().unwrap() - 2.068558).abs() < 1e-6);
    // Censored target, as documented.
    assert_eq!(d.targets().iter().filter(|&&v| v == 5.00001).count(), 965);
    // Nothing was written to the cache: the embedded copy is not a download.
    assert_eq!(std::fs::read_dir(&empty_cache).unwrap().count(), 0);
    assert_eq!(datasets::california_housing_embedded().unwrap(), d);
    std::fs::remove_dir_all(&empty_cache).unwrap();
}

/// `$MLP_TUNE_DATA` is looked at before the embedded copy: a directory holding a
/// one-row file wins over the 20640 embedded rows.
#[cfg(feature = "embedded-california")]
#[test]
fn california_env_dir_comes_before_the_embedded_copy() {
    // Only this test reads the variable from a child process, so the test harness's
    // threads never see it changed: run the check in a fresh process of this binary.
    if std::env::var_os("MLP_TUNE_TEST_CHILD").is_some() {
        let d = datasets::california_housing().unwrap();
        assert_eq!(d.records().nrows(), 1);
        return;
    }
    let dir = temp_dir("env-first");
    std::fs::write(
        dir.join(datasets::CALIFORNIA_HOUSING_FILE),
        "MedInc,HouseAge,AveRooms,AveBedrms,Population,AveOccup,Latitude,Longitude,MedHouseVal\n\
         1,2,3,4,5,6,7,8,9\n",
    )
    .unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "california_env_dir_comes_before_the_embedded_copy",
            "--nocapture",
        ])
        .env("MLP_TUNE_TEST_CHILD", "1")
        .env("MLP_TUNE_DATA", &dir)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- california download

#[cfg(feature = "download")]
mod download {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    const RAW: &str = "-122.23,37.88,41.0,880.0,129.0,322.0,126.0,8.3252,452600.0\n\
                       -122.22,37.86,21.0,7099.0,1106.0,2401.0,1138.0,8.3014,358500.0\n\
                       -122.24,37.85,52.0,1467.0,190.0,496.0,177.0,7.2574,352100.0\n\
                       -121.09,39.48,25.0,1665.0,374.0,845.0,330.0,1.5603,78100.0\n";

    fn tgz(raw: &str) -> Vec<u8> {
        let enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut builder = tar::Builder::new(enc);
        let mut readme = tar::Header::new_gnu();
        readme.set_size(5);
        readme.set_mode(0o644);
        readme.set_cksum();
        builder
            .append_data(
                &mut readme,
                "CaliforniaHousing/cal_housing.domain",
                &b"hello"[..],
            )
            .unwrap();
        let mut header = tar::Header::new_gnu();
        header.set_size(raw.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(
                &mut header,
                "CaliforniaHousing/cal_housing.data",
                raw.as_bytes(),
            )
            .unwrap();
        builder.into_inner().unwrap().finish().unwrap()
    }

    fn sha256_hex(bytes: &[u8]) -> String {
        use sha2::{Digest, Sha256};
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Serves `responses` (status, body), one per connection, then stops. Gives up
    /// after 20 s without a client so a broken loader cannot hang the test run.
    fn serve(responses: Vec<(u16, Vec<u8>)>) -> (String, JoinHandle<usize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let handle = std::thread::spawn(move || {
            let mut served = 0;
            for (status, body) in responses {
                let deadline = Instant::now() + Duration::from_secs(20);
                let mut stream = loop {
                    match listener.accept() {
                        Ok((stream, _)) => break stream,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            if Instant::now() > deadline {
                                return served;
                            }
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(_) => return served,
                    }
                };
                stream.set_nonblocking(false).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let mut request = Vec::new();
                let mut chunk = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&chunk[..n]),
                    }
                }
                assert!(request.starts_with(b"GET /files/cal_housing.tgz HTTP/1.1\r\n"));
                let reason = if status == 200 { "OK" } else { "Not Found" };
                let head = format!(
                    "HTTP/1.1 {status} {reason}\r\nContent-Type: application/octet-stream\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
                let _ = stream.flush();
                served += 1;
            }
            served
        });
        (format!("http://{addr}/files/cal_housing.tgz"), handle)
    }

    fn options(cache: &std::path::Path, url: &str, sha: &str) -> FetchOptions {
        FetchOptions::default()
            .use_env(false)
            .embedded(false)
            .cache_dir(cache)
            .url(url)
            .sha256(sha)
            .timeout(Duration::from_secs(20))
    }

    fn cache_entries(dir: &std::path::Path) -> Vec<String> {
        match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    fn closed_port_url() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        format!("http://{addr}/files/cal_housing.tgz")
    }

    #[test]
    fn downloads_derives_caches_and_rereads_the_cache() {
        let archive = tgz(RAW);
        let sha = sha256_hex(&archive);
        let (url, server) = serve(vec![(200, archive)]);
        let dir = temp_dir("download");
        let cache = dir.join("nested").join("cache");

        let d = datasets::california_housing_from(&options(&cache, &url, &sha)).unwrap();
        assert_eq!(server.join().unwrap(), 1);
        assert_eq!(d.records().dim(), (4, 8));
        assert_eq!(d.feature_names(), datasets::CALIFORNIA_FEATURE_NAMES);
        for (i, line) in RAW.lines().enumerate() {
            let v: Vec<f64> = line.split(',').map(|s| s.parse().unwrap()).collect();
            let expected = [
                v[7],
                v[2],
                v[3] / v[6],
                v[4] / v[6],
                v[5],
                v[5] / v[6],
                v[1],
                v[0],
            ];
            assert_eq!(d.records().row(i).to_vec(), expected, "row {i}");
            assert_eq!(d.targets()[i], v[8] / 100000.0);
        }
        // scikit-learn's documented first row.
        let first = d.records().row(0).to_vec();
        let rounded = [
            8.3252, 41.0, 6.984127, 1.023810, 322.0, 2.555556, 37.88, -122.23,
        ];
        for (a, b) in first.iter().zip(rounded) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        assert_eq!(d.targets()[0], 4.526);

        let cache_file = cache.join(datasets::CALIFORNIA_HOUSING_FILE);
        assert!(cache_file.is_file());
        assert_eq!(cache_entries(&cache), [datasets::CALIFORNIA_HOUSING_FILE]);
        let text = std::fs::read_to_string(&cache_file).unwrap();
        assert!(text.starts_with(
            "MedInc,HouseAge,AveRooms,AveBedrms,Population,AveOccup,Latitude,Longitude,MedHouseVal\n"
        ));
        assert_eq!(text.lines().count(), 5);

        // The server is gone: this can only come from the cache, bit for bit.
        let again =
            datasets::california_housing_from(&options(&cache, &closed_port_url(), &sha)).unwrap();
        assert_eq!(again.records(), d.records());
        assert_eq!(again.targets(), d.targets());
        assert_eq!(again.feature_names(), d.feature_names());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn wrong_checksum_is_an_error_and_leaves_no_cache() {
        let archive = tgz(RAW);
        let wrong = "0".repeat(64);
        let (url, server) = serve(vec![(200, archive)]);
        let cache = temp_dir("checksum");
        let err = datasets::california_housing_from(&options(&cache, &url, &wrong)).unwrap_err();
        assert_eq!(server.join().unwrap(), 1);
        assert!(matches!(err, MlpTuneError::Download(_)), "{err:?}");
        assert!(err.to_string().contains("checksum"), "{err}");
        assert!(
            cache_entries(&cache).is_empty(),
            "{:?}",
            cache_entries(&cache)
        );
        std::fs::remove_dir_all(&cache).unwrap();
    }

    #[test]
    fn truncated_or_wrong_archives_are_errors() {
        let archive = tgz(&RAW.repeat(200));
        let truncated = archive[..archive.len() / 2].to_vec();
        let not_gzip = b"<html>not an archive</html>".to_vec();
        let mut bad_rows = RAW.to_string();
        bad_rows.push_str("1,2,three\n");
        let bad_rows = tgz(&bad_rows);
        let cases = [truncated, not_gzip, bad_rows];
        for body in cases {
            let sha = sha256_hex(&body);
            let (url, server) = serve(vec![(200, body)]);
            let cache = temp_dir("truncated");
            let err = datasets::california_housing_from(&options(&cache, &url, &sha)).unwrap_err();
            assert_eq!(server.join().unwrap(), 1);
            assert!(matches!(err, MlpTuneError::Download(_)), "{err:?}");
            assert!(cache_entries(&cache).is_empty());
            std::fs::remove_dir_all(&cache).unwrap();
        }

        // A body shorter than its Content-Length: the checksum (of the full archive)
        // cannot match whatever arrived.
        let full = tgz(RAW);
        let sha = sha256_hex(&full);
        let (url, server) = serve(vec![(200, full[..full.len() - 10].to_vec())]);
        let cache = temp_dir("short");
        let err = datasets::california_housing_from(&options(&cache, &url, &sha)).unwrap_err();
        assert_eq!(server.join().unwrap(), 1);
        assert!(matches!(err, MlpTuneError::Download(_)), "{err:?}");
        std::fs::remove_dir_all(&cache).unwrap();
    }

    #[test]
    fn missing_member_http_error_and_closed_port_are_errors() {
        let enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut builder = tar::Builder::new(enc);
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_cksum();
        builder
            .append_data(&mut header, "other/file.txt", &b"abc"[..])
            .unwrap();
        let no_member = builder.into_inner().unwrap().finish().unwrap();
        let sha = sha256_hex(&no_member);
        let (url, server) = serve(vec![(200, no_member), (404, b"gone".to_vec())]);
        let cache = temp_dir("errors");
        let err = datasets::california_housing_from(&options(&cache, &url, &sha)).unwrap_err();
        assert!(err.to_string().contains("cal_housing.data"), "{err}");

        let err = datasets::california_housing_from(&options(&cache, &url, &sha)).unwrap_err();
        assert_eq!(server.join().unwrap(), 2);
        assert!(matches!(err, MlpTuneError::Download(_)), "{err:?}");
        assert!(err.to_string().contains("404"), "{err}");

        let err = datasets::california_housing_from(&options(&cache, &closed_port_url(), &sha))
            .unwrap_err();
        assert!(matches!(err, MlpTuneError::Download(_)), "{err:?}");
        assert!(cache_entries(&cache).is_empty());
        std::fs::remove_dir_all(&cache).unwrap();
    }
}

// ---------------------------------------------------------------- real California file

fn real_data_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("MLP_TUNE_DATA").expect("set MLP_TUNE_DATA"))
}

#[test]
#[ignore = "needs MLP_TUNE_DATA"]
fn california_real_file_statistics() {
    let _ = real_data_dir();
    let d = datasets::california_housing().unwrap();
    assert_eq!(d.records().dim(), (20640, 8));
    assert_eq!(d.feature_names(), datasets::CALIFORNIA_FEATURE_NAMES);
    let means = [
        3.870671,
        28.639486,
        5.429000,
        1.096675,
        1425.476744,
        3.070655,
        35.631861,
        -119.569704,
    ];
    let got = d.records().mean_axis(ndarray::Axis(0)).unwrap();
    for (j, (g, m)) in got.iter().zip(means).enumerate() {
        assert!((g - m).abs() < 1e-6, "column {j}: {g} vs {m}");
    }
    let target_mean = d.targets().mean().unwrap();
    assert!((target_mean - 2.068558).abs() < 1e-6, "{target_mean}");
    let first = [
        8.3252, 41.0, 6.984127, 1.023810, 322.0, 2.555556, 37.88, -122.23,
    ];
    for (g, e) in d.records().row(0).iter().zip(first) {
        assert!((g - e).abs() < 1e-6, "{g} vs {e}");
    }
    assert_eq!(d.targets()[0], 4.526);
}

/// The embedded copy equals `$MLP_TUNE_DATA/california_housing.csv` (../shared/datasets)
/// bit for bit, and its decompressed bytes are that file's bytes.
#[cfg(feature = "embedded-california")]
#[test]
#[ignore = "needs MLP_TUNE_DATA"]
fn california_embedded_equals_the_shared_file() {
    let path = real_data_dir().join(datasets::CALIFORNIA_HOUSING_FILE);
    let shared = datasets::load_csv(&path, &CsvOptions::default()).unwrap();
    let embedded = datasets::california_housing_embedded().unwrap();
    assert_eq!(embedded.records().dim(), shared.records().dim());
    let same_bits = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
    assert!(same_bits(
        embedded.records().as_slice().unwrap(),
        shared.records().as_slice().unwrap()
    ));
    assert!(same_bits(
        embedded.targets().as_slice().unwrap(),
        shared.targets().as_slice().unwrap()
    ));
    assert_eq!(embedded.feature_names(), shared.feature_names());

    use sha2::Digest as _;
    let bytes = std::fs::read(&path).unwrap();
    let digest: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(digest, datasets::CALIFORNIA_HOUSING_CSV_SHA256);
}

#[test]
#[ignore = "needs MLP_TUNE_DATA"]
fn california_split_matches_scikit_learn() {
    let path = real_data_dir().join("california_housing_split_rs42.csv");
    let text = std::fs::read_to_string(path).unwrap();
    let s = datasets::california_textbook_split(20640).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("subset,position,row"));
    let mut count = 0;
    for line in lines {
        let mut fields = line.split(',');
        let subset = fields.next().unwrap();
        let position: usize = fields.next().unwrap().parse().unwrap();
        let row: usize = fields.next().unwrap().parse().unwrap();
        let ours = match subset {
            "train" => &s.train,
            "valid" => &s.valid,
            "test" => &s.test,
            other => panic!("unknown subset {other}"),
        };
        assert_eq!(ours[position], row, "{line}");
        count += 1;
    }
    assert_eq!(count, 20640);

    let d = datasets::california_housing().unwrap();
    let (_, _, test) = s.subsets(&d).unwrap();
    assert_eq!(&test.targets().to_vec()[..3], [0.477, 0.458, 5.00001]);
}

/// `make_moons(noise=0.3, random_state=0)` and `make_circles(noise=0.2, factor=0.5,
/// random_state=1)` equal scikit-learn's output in `$MLP_TUNE_PARITY`.
#[test]
#[ignore = "needs MLP_TUNE_PARITY"]
fn sample_generators_equal_scikit_learn() {
    let parity = PathBuf::from(std::env::var("MLP_TUNE_PARITY").expect("MLP_TUNE_PARITY"));
    let options = CsvOptions::default();
    let cases = [
        (
            "make_moons_noise0.3_rs0.csv",
            datasets::make_moons(100, 0.3, 0).unwrap(),
        ),
        (
            "make_circles_noise0.2_factor0.5_rs1.csv",
            datasets::make_circles(100, 0.2, 0.5, 1).unwrap(),
        ),
    ];
    for (file, ours) in cases {
        let theirs = datasets::load_csv(parity.join(file), &options).unwrap();
        assert_eq!(ours.records().dim(), theirs.records().dim(), "{file}");
        let worst = ours
            .records()
            .iter()
            .zip(theirs.records().iter())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-12, "{file}: {worst}");
        let labels: Vec<usize> = theirs.targets().iter().map(|&v| v as usize).collect();
        assert_eq!(ours.targets().to_vec(), labels, "{file}");
    }
}
