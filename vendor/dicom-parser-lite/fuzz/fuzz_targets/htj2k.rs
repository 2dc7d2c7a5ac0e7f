#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dicom_parser_lite_fuzz::htj2k(data));
