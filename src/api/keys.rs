//! The keys of the options object and of its `theme`: the names `options.rs` reads, which the
//! `.d.ts` drift test compares with `EMRImagingOptions` and `EMRImagingTheme`.

use crate::wire::wire_enum;

wire_enum! {
    /// A key of `new EMRImagingComponent({ … })`.
    pub enum OptionKey {
        FhirBaseUrl = "fhirBaseUrl",
        DicomwebBaseUrl = "dicomwebBaseUrl",
        AllowedOrigins = "allowedOrigins",
        Token = "token",
        MemoryCacheBytes = "memoryCacheBytes",
        PersistentCache = "persistentCache",
        CacheBudgetBytes = "cacheBudgetBytes",
        CacheTtlSeconds = "cacheTtlSeconds",
        UserId = "userId",
        RequestTimeoutSeconds = "requestTimeoutSeconds",
        ExternalIidViewer = "externalIidViewer",
        KeyImagesOnly = "keyImagesOnly",
        Audit = "audit",
        Upload = "upload",
        Lang = "lang",
        Theme = "theme",
        Fhircast = "fhircast",
        Subscriptions = "subscriptions",
        StudyPollSeconds = "studyPollSeconds",
        OnError = "onError",
        OnImageDisplayed = "onImageDisplayed",
        OnStudyOpen = "onStudyOpen",
        OnAudit = "onAudit",
    }
}

wire_enum! {
    /// A colour role of `theme: { … }`, set as the CSS custom property `--emr-<key>`.
    pub enum ThemeKey {
        Bg = "bg",
        Fg = "fg",
        Accent = "accent",
        Muted = "muted",
        Alert = "alert",
    }
}
