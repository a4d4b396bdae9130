//! `gen-fhir-defs SRC_DIR OUT_DIR`: regenerates fhir-facade's embedded FHIR R4 tables.
//!
//! Usage (from the repository root):
//! `cargo run -p gen-fhir-defs -- ../shared/fhir/r4 src/fhir/r4`

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [src, out] = args.as_slice() else {
        eprintln!("usage: gen-fhir-defs SRC_DIR OUT_DIR  (e.g. ../shared/fhir/r4 src/fhir/r4)");
        return ExitCode::from(2);
    };
    match gen_fhir_defs::generate_into(Path::new(src), Path::new(out)) {
        Ok(()) => {
            for name in gen_fhir_defs::OUTPUT_FILES {
                println!("wrote {}", Path::new(out).join(name).display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-fhir-defs: {e}");
            ExitCode::FAILURE
        }
    }
}
