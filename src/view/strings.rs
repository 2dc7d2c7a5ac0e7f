//! Every user-visible string, per language: English and German, chosen by the `lang` option
//! or the page's `lang` attribute. Dates and decimals follow the language too.
//!
//! Error details come from typed errors and stay English: hosts match on their codes.

use crate::imaging::measure::LabelWords;

pub struct Strings {
    /// How measurement labels read.
    pub label_words: LabelWords,
    pub region_label: &'static str,
    pub studies_label: &'static str,
    pub image_label: &'static str,
    pub no_patient: &'static str,
    pub patient_id: &'static str,
    pub born: &'static str,
    pub series: &'static str,
    pub images: &'static str,
    pub image_number: &'static str,
    pub series_number: &'static str,
    pub lossy: &'static str,
    pub lossy_title: &'static str,
    pub source_fhir_only: &'static str,
    pub source_enriched: &'static str,
    pub source_no_endpoint: &'static str,
    pub source_pacs_only: &'static str,
    pub source_unreachable: &'static str,
    pub source_invalid_endpoint: &'static str,
    pub loading_studies: &'static str,
    pub loading_image: &'static str,
    pub waiting_fhir: &'static str,
    pub waiting_images: &'static str,
    pub no_studies: &'static str,
    pub new_study: &'static str,
    /// The study list's mark on studies that can be shown beside the open one, its button,
    /// and the second viewport's header.
    pub comparable: &'static str,
    pub comparable_title: &'static str,
    pub compare: &'static str,
    pub prior: &'static str,
    pub link_window: &'static str,
    pub close_comparison: &'static str,
    pub no_matching_studies: &'static str,
    pub studies_failed: &'static str,
    pub error_prefix: &'static str,
    pub blocked_prefix: &'static str,
    pub blocked_title: &'static str,
    pub sort_newest: &'static str,
    pub sort_oldest: &'static str,
    pub modality_filter: &'static str,
    pub all_modalities: &'static str,
    pub date_from: &'static str,
    pub date_to: &'static str,
    pub series_strip_label: &'static str,
    pub toolbar_label: &'static str,
    pub tool_window: &'static str,
    pub tool_zoom: &'static str,
    pub tool_pan: &'static str,
    pub tool_scroll: &'static str,
    pub tool_length: &'static str,
    pub tool_angle: &'static str,
    pub tool_ellipse: &'static str,
    pub tool_rectangle: &'static str,
    pub tool_arrow: &'static str,
    pub tool_text: &'static str,
    pub read_report: &'static str,
    /// On a PR series: what clicking it does.
    pub apply_state: &'static str,
    /// The badge over an image shown as a presentation state says.
    pub state_applied: &'static str,
    pub remove_state: &'static str,
    pub structured_report_label: &'static str,
    pub close: &'static str,
    pub report_incomplete: &'static str,
    pub report_empty: &'static str,
    pub text_input_label: &'static str,
    pub measurements_label: &'static str,
    pub presets_label: &'static str,
    pub preset_soft_tissue: &'static str,
    pub preset_lung: &'static str,
    pub preset_bone: &'static str,
    pub preset_brain: &'static str,
    pub preset_header: &'static str,
    pub fit: &'static str,
    pub one_to_one: &'static str,
    pub invert: &'static str,
    pub reset: &'static str,
    pub play: &'static str,
    pub pause: &'static str,
    pub frame_rate: &'static str,
    pub fps: &'static str,
    pub slice_scrollbar: &'static str,
    pub series_loading: &'static str,
    pub zoom: &'static str,
    pub position: &'static str,
    pub reports_label: &'static str,
    pub no_reports: &'static str,
    pub reports_loading: &'static str,
    pub reports_failed: &'static str,
    pub conclusion: &'static str,
    pub open_attachment: &'static str,
    pub open_diagnostic: &'static str,
    pub attachment_not_inline: &'static str,
    pub mm: &'static str,
    /// The viewport's mark on a key image, and the strip's count of them.
    pub key_image: &'static str,
    pub key_image_title: &'static str,
    pub key_images_only: &'static str,
    /// Document series in the strip, by what they hold.
    pub kind_key_objects: &'static str,
    pub kind_report: &'static str,
    pub kind_presentation_state: &'static str,
    pub kind_segmentation: &'static str,
    pub kind_other_object: &'static str,
    pub not_an_image: &'static str,
}

pub static EN: Strings = Strings {
    label_words: LabelWords::ENGLISH,
    region_label: "Patient images",
    studies_label: "Imaging studies",
    image_label: "Medical image",
    no_patient: "No patient selected",
    patient_id: "ID",
    born: "Born",
    series: "series",
    images: "images",
    image_number: "Im",
    series_number: "Se",
    lossy: "LOSSY",
    lossy_title: "This image was lossy-compressed: fine detail may differ from the original.",
    source_fhir_only: "FHIR",
    source_enriched: "FHIR + PACS",
    source_no_endpoint: "no image source",
    source_pacs_only: "PACS",
    source_unreachable: "PACS unreachable",
    source_invalid_endpoint: "invalid image address",
    loading_studies: "Loading studies…",
    loading_image: "Loading image…",
    waiting_fhir: "Waiting for the FHIR server…",
    waiting_images: "Waiting for the image server…",
    no_studies: "No imaging studies for this patient.",
    new_study: "New study available",
    comparable: "Comparable",
    comparable_title: "Same patient, modality and body part as the open study",
    compare: "Compare",
    prior: "Comparison:",
    link_window: "Link W/L",
    close_comparison: "Close comparison",
    no_matching_studies: "No studies match the filters.",
    studies_failed: "The studies could not be loaded.",
    error_prefix: "Error:",
    blocked_prefix: "Image withheld:",
    blocked_title: "This image is not shown: it does not belong to the patient in context.",
    sort_newest: "Newest first",
    sort_oldest: "Oldest first",
    modality_filter: "Modality",
    all_modalities: "All",
    date_from: "From",
    date_to: "To",
    series_strip_label: "Series",
    toolbar_label: "Image tools",
    tool_window: "W/L",
    tool_zoom: "Zoom",
    tool_pan: "Pan",
    tool_scroll: "Scroll",
    tool_length: "Length",
    tool_angle: "Angle",
    tool_ellipse: "Ellipse",
    tool_rectangle: "Rectangle",
    tool_arrow: "Arrow",
    tool_text: "Text",
    read_report: "read",
    apply_state: "apply",
    state_applied: "Presentation state",
    remove_state: "Show the images without the presentation state",
    structured_report_label: "Structured report",
    close: "Close",
    report_incomplete: "Part of this report is too deeply nested or too long to show.",
    report_empty: "This series holds no report this viewer can read.",
    text_input_label: "Label text (Enter to keep, Escape to cancel)",
    measurements_label: "Measurements",
    presets_label: "Window preset",
    preset_soft_tissue: "Soft tissue",
    preset_lung: "Lung",
    preset_bone: "Bone",
    preset_brain: "Brain",
    preset_header: "Header",
    fit: "Fit",
    one_to_one: "1:1",
    invert: "Invert",
    reset: "Reset",
    play: "Play",
    pause: "Pause",
    frame_rate: "Frame rate",
    fps: "fps",
    slice_scrollbar: "Slice",
    series_loading: "Loading series",
    zoom: "Zoom",
    position: "Pos",
    reports_label: "Reports",
    no_reports: "No report for this study.",
    reports_loading: "Loading reports…",
    reports_failed: "Reports could not be loaded:",
    conclusion: "Conclusion",
    open_attachment: "Open",
    open_diagnostic: "Open in diagnostic viewer",
    attachment_not_inline: "available in the EMR",
    mm: "mm",
    key_image: "KEY",
    key_image_title: "A Key Object Selection of this study names this image.",
    key_images_only: "Key images only",
    kind_key_objects: "Key image selection",
    kind_report: "Structured report",
    kind_presentation_state: "Presentation state",
    kind_segmentation: "Segmentation",
    kind_other_object: "DICOM object",
    not_an_image: "not an image",
};

pub static DE: Strings = Strings {
    label_words: LabelWords {
        decimal_comma: true,
        mean: "Mittelwert",
        sd: "SD",
        min: "Min.",
        max: "Max.",
        uncalibrated: "unkalibriert",
        detector: "Detektorebene",
    },
    region_label: "Bilder des Patienten",
    studies_label: "Bildgebende Untersuchungen",
    image_label: "Medizinisches Bild",
    no_patient: "Kein Patient ausgewählt",
    patient_id: "ID",
    born: "geb.",
    series: "Serien",
    images: "Bilder",
    image_number: "Bild",
    series_number: "Se",
    lossy: "VERLUSTBEHAFTET",
    lossy_title: "Dieses Bild wurde verlustbehaftet komprimiert: feine Details können vom Original abweichen.",
    source_fhir_only: "FHIR",
    source_enriched: "FHIR + PACS",
    source_no_endpoint: "keine Bildquelle",
    source_pacs_only: "PACS",
    source_unreachable: "PACS nicht erreichbar",
    source_invalid_endpoint: "ungültige Bildadresse",
    loading_studies: "Untersuchungen werden geladen…",
    loading_image: "Bild wird geladen…",
    waiting_fhir: "Warten auf den FHIR-Server…",
    waiting_images: "Warten auf den Bildserver…",
    no_studies: "Keine bildgebenden Untersuchungen für diesen Patienten.",
    new_study: "Neue Untersuchung verfügbar",
    comparable: "Vergleichbar",
    comparable_title: "Derselbe Patient, dieselbe Modalität und Körperregion wie die geöffnete Untersuchung",
    compare: "Vergleichen",
    prior: "Vergleich:",
    link_window: "Fenster koppeln",
    close_comparison: "Vergleich schließen",
    no_matching_studies: "Keine Untersuchung entspricht den Filtern.",
    studies_failed: "Die Untersuchungen konnten nicht geladen werden.",
    error_prefix: "Fehler:",
    blocked_prefix: "Bild zurückgehalten:",
    blocked_title: "Dieses Bild wird nicht gezeigt: Es gehört nicht zum aktuellen Patienten.",
    sort_newest: "Neueste zuerst",
    sort_oldest: "Älteste zuerst",
    modality_filter: "Modalität",
    all_modalities: "Alle",
    date_from: "Von",
    date_to: "Bis",
    series_strip_label: "Serien",
    toolbar_label: "Bildwerkzeuge",
    tool_window: "W/L",
    tool_zoom: "Vergrößern",
    tool_pan: "Verschieben",
    tool_scroll: "Blättern",
    tool_length: "Strecke",
    tool_angle: "Winkel",
    tool_ellipse: "Ellipse",
    tool_rectangle: "Rechteck",
    tool_arrow: "Pfeil",
    tool_text: "Beschriftung",
    read_report: "lesen",
    apply_state: "anwenden",
    state_applied: "Darstellungszustand",
    remove_state: "Bilder ohne den Darstellungszustand zeigen",
    structured_report_label: "Strukturierter Befund",
    close: "Schließen",
    report_incomplete: "Ein Teil dieses Befunds ist zu tief verschachtelt oder zu lang für die Anzeige.",
    report_empty: "Diese Serie enthält keinen Befund, den dieser Viewer lesen kann.",
    text_input_label: "Beschriftung (Eingabe übernimmt, Esc verwirft)",
    measurements_label: "Messungen",
    presets_label: "Fenstervorgabe",
    preset_soft_tissue: "Weichteil",
    preset_lung: "Lunge",
    preset_bone: "Knochen",
    preset_brain: "Hirn",
    preset_header: "Aus dem Bild",
    fit: "Einpassen",
    one_to_one: "1:1",
    invert: "Invertieren",
    reset: "Zurücksetzen",
    play: "Abspielen",
    pause: "Anhalten",
    frame_rate: "Bildrate",
    fps: "B/s",
    slice_scrollbar: "Schicht",
    series_loading: "Serie wird geladen",
    zoom: "Vergr.",
    position: "Pos.",
    reports_label: "Befunde",
    no_reports: "Kein Befund zu dieser Untersuchung.",
    reports_loading: "Befunde werden geladen…",
    reports_failed: "Befunde konnten nicht geladen werden:",
    conclusion: "Beurteilung",
    open_attachment: "Öffnen",
    open_diagnostic: "Im Befundungsviewer öffnen",
    attachment_not_inline: "in der Patientenakte verfügbar",
    mm: "mm",
    key_image: "SCHLÜSSELBILD",
    key_image_title: "Eine Schlüsselbildauswahl dieser Untersuchung nennt dieses Bild.",
    key_images_only: "Nur Schlüsselbilder",
    kind_key_objects: "Schlüsselbildauswahl",
    kind_report: "Strukturierter Befund",
    kind_presentation_state: "Darstellungszustand",
    kind_segmentation: "Segmentierung",
    kind_other_object: "DICOM-Objekt",
    not_an_image: "kein Bild",
};

/// A language of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    En,
    De,
}

impl Locale {
    /// From a BCP 47 tag (`de`, `de-AT`, `en-GB`): its primary language, when the UI has it.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        match tag.split(['-', '_']).next()?.trim().to_ascii_lowercase().as_str() {
            "de" => Some(Locale::De),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    pub fn strings(self) -> &'static Strings {
        match self {
            Locale::En => &EN,
            Locale::De => &DE,
        }
    }

    /// An ISO date (`YYYY-MM-DD`, as the view holds dates) as this language writes it:
    /// `2024-03-12` or `12.03.2024`; anything else as it is.
    pub fn date(self, iso: &str) -> String {
        match (self, iso.get(0..4), iso.get(5..7), iso.get(8..10)) {
            (Locale::De, Some(y), Some(m), Some(d)) if iso.len() == 10 && iso.as_bytes()[4] == b'-' => format!("{d}.{m}.{y}"),
            _ => iso.to_string(),
        }
    }

    /// A decimal as written by [`crate::view::logic::overlay_number`], in this language.
    pub fn decimal(self, number: String) -> String {
        match self {
            Locale::De => number.replace('.', ","),
            Locale::En => number,
        }
    }

    /// A whole percentage: `95%` or `95 %`.
    pub fn percent(self, v: f64) -> String {
        match self {
            Locale::De => format!("{v:.0} %"),
            Locale::En => format!("{v:.0}%"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_comes_from_the_tag() {
        assert_eq!(Locale::from_tag("de-AT"), Some(Locale::De));
        assert_eq!(Locale::from_tag("DE"), Some(Locale::De));
        assert_eq!(Locale::from_tag("en-GB"), Some(Locale::En));
        assert_eq!(Locale::from_tag("fr"), None);
        assert_eq!(Locale::from_tag(""), None);
    }

    #[test]
    fn dates_and_numbers_follow_the_language() {
        assert_eq!(Locale::De.date("2024-03-12"), "12.03.2024");
        assert_eq!(Locale::En.date("2024-03-12"), "2024-03-12");
        assert_eq!(Locale::De.date("2024"), "2024");
        assert_eq!(Locale::De.decimal("-12.5".into()), "-12,5");
        assert_eq!(Locale::De.percent(95.2), "95 %");
        assert_eq!(Locale::En.percent(95.2), "95%");
    }
}
