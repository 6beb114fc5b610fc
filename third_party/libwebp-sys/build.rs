// Conveyor's copy of libwebp-sys 0.9.6's build script, changed in one respect: on x86 the
// SSE4.1 code of libwebp is compiled and chosen at run time, as libwebp's own CMake and
// autotools builds do. The published crate can only compile *all* of libwebp with `-msse4.1`
// (its `sse41` feature), which lets the compiler use SSE4.1 anywhere and so makes the program
// require an SSE4.1 CPU. Here only the `*_sse41.c` files get `-msse4.1`; every other file is
// built for the target's baseline with `WEBP_HAVE_SSE41` defined, which makes libwebp's
// dispatchers call the SSE4.1 initialisers when `VP8GetCPUInfo(kSSE4_1)` says the CPU has it.
// See README-conveyor.md.

use std::env;
use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let vendor = manifest_dir.join("vendor");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=vendor");

    let target = env::var("CARGO_CFG_TARGET_ARCH").expect("CARGO_CFG_TARGET_ARCH");
    let x86 = matches!(target.as_str(), "x86_64" | "x86" | "i686");

    let mut cc = cc::Build::new();
    let mut sse41 = cc::Build::new();
    let mut sharpyuv_build = cc::Build::new();
    setup_build(&mut cc, &vendor, &target);
    setup_build(&mut sse41, &vendor, &target);
    setup_build(&mut sharpyuv_build, &vendor, &target);
    if !sse41.get_compiler().is_like_msvc() {
        // (MSVC needs no flag for SSE4.1 intrinsics; libwebp's cpu.h knows.)
        sse41.flag("-msse4.1");
    }

    let mut sse41_files = 0;
    for f in c_files(&vendor.join("src")) {
        let is_sse41 = f
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with("_sse41.c"));
        if x86 && is_sse41 {
            sse41.file(&f);
            sse41_files += 1;
        } else {
            cc.file(&f);
        }
    }
    for f in c_files(&vendor.join("sharpyuv")) {
        sharpyuv_build.file(f);
    }
    sharpyuv_build.compile("sharpyuv");
    if sse41_files > 0 {
        sse41.compile("webpsys_sse41");
    }
    cc.compile("webpsys");
}

/// Every `.c` file under `dir`, sorted so that builds are reproducible.
fn c_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "c") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn setup_build(build: &mut cc::Build, include_dir: &PathBuf, target: &str) {
    build.include(include_dir);
    build.define("NDEBUG", Some("1"));
    build.define("_THREAD_SAFE", Some("1"));
    if !build.get_compiler().is_like_msvc() {
        build.flag("-fvisibility=hidden").flag("-Wall");
    } else {
        build.flag("-D_CRT_SECURE_NO_WARNINGS");
    }

    if let Ok(target_cpu) = env::var("TARGET_CPU") {
        build.flag_if_supported(format!("-march={}", target_cpu));
    }

    match target {
        "x86_64" | "x86" | "i686" => {
            build.define("WEBP_HAVE_SSE2", Some("1"));
            // Dispatch to the SSE4.1 code at run time (compiled with -msse4.1 above, alone).
            build.define("WEBP_HAVE_SSE41", Some("1"));
        }
        "aarch64" => {
            if cfg!(feature = "neon") {
                build.define("WEBP_HAVE_NEON", Some("1"));
            }

            // If any optimizations are ennabled, we must remove -gdwarf flags
            // Which we can only do by stopping debug mode entirely since we can't
            // fix env flags.
            let gccflags = build
                .get_compiler()
                .cflags_env()
                .to_string_lossy()
                .to_string();

            if gccflags.contains("-O0")
                || gccflags.contains("-O1")
                || gccflags.contains("-O2")
                || gccflags.contains("-O3")
                || gccflags.contains("-Ofast")
                || gccflags.contains("-Os")
                || gccflags.contains("--opt-level=0")
                || gccflags.contains("--opt-level=1")
                || gccflags.contains("--opt-level=2")
                || gccflags.contains("--opt-level=3")
                || gccflags.contains("--opt-level=s")
                || gccflags.contains("--opt-level=z")
            {
                build.debug(false);
            }
        }
        _ => {}
    };
}
