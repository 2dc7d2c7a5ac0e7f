//! Window presets: the usual CT windows and the header's own.

/// A named window (center / width in modality units, e.g. HU).
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    pub key: &'static str,
    pub center: f64,
    pub width: f64,
}

/// CT presets (center/width in HU). Soft tissue, lung and brain are the textbook values; bone is
/// 400/1800, the wide bone window of common radiology references (some sites use 300/1500).
pub const CT_PRESETS: &[Preset] = &[
    Preset { key: "soft-tissue", center: 40.0, width: 400.0 },
    Preset { key: "lung", center: -600.0, width: 1500.0 },
    Preset { key: "bone", center: 400.0, width: 1800.0 },
    Preset { key: "brain", center: 40.0, width: 80.0 },
];

/// Presets for an image: the CT ones for CT, then every window its header carries (deduplicated).
pub fn presets_for(modality: Option<&str>, header_windows: &[(f64, f64)]) -> Vec<Preset> {
    let mut out: Vec<Preset> = if modality == Some("CT") { CT_PRESETS.to_vec() } else { Vec::new() };
    for &(center, width) in header_windows {
        if width >= 1.0 && center.is_finite() && !out.iter().any(|p| p.key == "header" && p.center == center && p.width == width) {
            out.push(Preset { key: "header", center, width });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ct_gets_the_standard_presets_then_header_windows() {
        let p = presets_for(Some("CT"), &[(40.0, 400.0), (40.0, 400.0), (-500.0, 1400.0)]);
        let keys: Vec<_> = p.iter().map(|p| p.key).collect();
        assert_eq!(keys, ["soft-tissue", "lung", "bone", "brain", "header", "header"]);
        assert_eq!((p[1].center, p[1].width), (-600.0, 1500.0));
        let mr = presets_for(Some("MR"), &[(600.0, 1200.0), (1.0, 0.0)]);
        assert_eq!(mr.len(), 1);
    }
}
