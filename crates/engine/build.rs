//! Builds the libaom shim (`src/codec/aom.c`) when the `aom` feature is on, against the
//! system's libaom found by pkg-config (Debian: libaom-dev). Without the feature it does nothing.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "aom")]
    aom();
}

#[cfg(feature = "aom")]
fn aom() {
    println!("cargo:rerun-if-changed=src/codec/aom.c");
    let lib = match pkg_config::Config::new()
        .atleast_version("3.2")
        .probe("aom")
    {
        Ok(lib) => lib,
        Err(e) => {
            println!(
                "cargo:warning=the `aom` feature needs libaom 3.2 or newer and its headers \
                 (Debian: apt install libaom-dev pkg-config): {e}"
            );
            std::process::exit(1);
        }
    };
    let mut build = cc::Build::new();
    build.file("src/codec/aom.c").warnings(true);
    for dir in &lib.include_paths {
        build.include(dir);
    }
    build.compile("conveyor_aom");
}
