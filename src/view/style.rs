//! The widget's styles, scoped under `.emr-imaging` so nothing leaks into the host page.
//! Colours are CSS custom properties the host can override.

pub const CSS: &str = r#"
.emr-imaging{--emr-bg:#111;--emr-fg:#eee;--emr-accent:#4aa3ff;--emr-muted:#999;--emr-alert:#c62828;
  font:13px/1.4 system-ui,sans-serif;background:var(--emr-bg);color:var(--emr-fg);display:flex;flex-direction:column;
  height:100%;min-height:320px;box-sizing:border-box;container-type:inline-size}
.emr-imaging *{box-sizing:border-box}
.emr-imaging .emr-banner{display:flex;gap:1em;flex-wrap:wrap;padding:4px 8px;background:#222;font-weight:600}
.emr-imaging .emr-body{display:flex;flex:1;min-height:0}
.emr-imaging .emr-study-list{list-style:none;margin:0;padding:0;width:16em;overflow:auto;border-right:1px solid #333}
.emr-imaging .emr-study{display:grid;grid-template-columns:auto 1fr;gap:0 .5em;padding:6px 8px;cursor:pointer;border-bottom:1px solid #2a2a2a}
.emr-imaging .emr-study[aria-selected=true]{background:#1d3a5a}
.emr-imaging .emr-study:focus{outline:2px solid var(--emr-accent);outline-offset:-2px}
.emr-imaging .emr-study-desc,.emr-imaging .emr-study-counts,.emr-imaging .emr-study-source{grid-column:1/-1;color:var(--emr-muted)}
.emr-imaging .emr-viewport{position:relative;flex:1;display:flex;align-items:center;justify-content:center;background:#000;min-width:0}
.emr-imaging .emr-canvas{width:100%;height:100%;object-fit:contain}
.emr-imaging .emr-overlay{position:absolute;left:6px;top:4px;display:flex;flex-direction:column;font-size:12px;text-shadow:0 0 2px #000}
.emr-imaging .emr-lossy{color:#ffb300;font-weight:700}
.emr-imaging .emr-blocked{position:absolute;inset:auto 8px 8px 8px;padding:8px;background:var(--emr-alert);color:#fff;font-weight:600}
.emr-imaging .emr-status{min-height:1.6em;padding:2px 8px;color:var(--emr-muted)}
@container (max-width:480px){.emr-imaging .emr-body{flex-direction:column}.emr-imaging .emr-study-list{width:auto;max-height:35%}}
"#;
