//! The widget's styles, scoped under `.emr-imaging` so nothing leaks into the host page.
//! Colours are CSS custom properties the host can override; `data-theme` picks light or dark,
//! `auto` follows `prefers-color-scheme`. The image area stays black in both themes (reading
//! images on a light background is a clinical no-go). Layout follows the widget's own width
//! (container queries), from a 320 px side panel to full screen.

pub const CSS: &str = r#"
.emr-imaging{--emr-bg:#f7f8fa;--emr-fg:#1b1f24;--emr-panel:#fff;--emr-border:#d5d9e0;--emr-accent:#0b62c4;--emr-muted:#5b6573;
  --emr-selected:#dbe9fb;--emr-alert:#b3261e;--emr-warn:#9a5b00;--emr-ok:#1e7d32;--emr-banner:#e8ecf2;
  font:13px/1.4 system-ui,sans-serif;background:var(--emr-bg);color:var(--emr-fg);display:flex;flex-direction:column;
  height:100%;min-height:320px;box-sizing:border-box;container-type:inline-size;container-name:emr;overflow:hidden}
.emr-imaging[data-theme=dark]{--emr-bg:#121417;--emr-fg:#e8eaed;--emr-panel:#1b1e22;--emr-border:#30353c;--emr-accent:#6fb1ff;
  --emr-muted:#9aa3ad;--emr-selected:#1d3a5a;--emr-alert:#d93025;--emr-warn:#f0b400;--emr-ok:#5bd36b;--emr-banner:#22262b}
@media (prefers-color-scheme:dark){.emr-imaging[data-theme=auto]{--emr-bg:#121417;--emr-fg:#e8eaed;--emr-panel:#1b1e22;
  --emr-border:#30353c;--emr-accent:#6fb1ff;--emr-muted:#9aa3ad;--emr-selected:#1d3a5a;--emr-alert:#d93025;--emr-warn:#f0b400;
  --emr-ok:#5bd36b;--emr-banner:#22262b}}
.emr-imaging *{box-sizing:border-box}
.emr-imaging button,.emr-imaging select,.emr-imaging input{font:inherit;color:inherit;background:var(--emr-panel);border:1px solid var(--emr-border);border-radius:3px;padding:2px 6px}
.emr-imaging button[aria-pressed=true]{background:var(--emr-selected);border-color:var(--emr-accent)}
.emr-imaging :focus-visible{outline:2px solid var(--emr-accent);outline-offset:-2px}
.emr-imaging .emr-banner{display:flex;gap:1em;flex-wrap:wrap;padding:4px 8px;background:var(--emr-banner);font-weight:600;flex:none}
.emr-imaging .emr-body{display:grid;grid-template-columns:17em minmax(0,1fr) 18em;grid-template-rows:minmax(0,1fr);flex:1;min-height:0}
.emr-imaging .emr-studies{display:flex;flex-direction:column;border-right:1px solid var(--emr-border);min-height:0}
.emr-imaging .emr-filters{display:flex;flex-wrap:wrap;gap:4px;padding:4px;border-bottom:1px solid var(--emr-border)}
.emr-imaging .emr-filters label{display:flex;flex-direction:column;font-size:11px;color:var(--emr-muted)}
.emr-imaging .emr-filters input{width:9.5em}
.emr-imaging .emr-list-state{margin:8px;color:var(--emr-muted)}
.emr-imaging .emr-new-study{margin:8px;color:var(--emr-accent);font-weight:600}
.emr-imaging .emr-study-list{list-style:none;margin:0;padding:0;overflow:auto;flex:1}
.emr-imaging .emr-study{display:grid;grid-template-columns:auto 1fr;gap:0 .5em;padding:6px 8px;cursor:pointer;border-bottom:1px solid var(--emr-border)}
.emr-imaging .emr-study[aria-selected=true]{background:var(--emr-selected)}
.emr-imaging .emr-study-desc,.emr-imaging .emr-study-acc,.emr-imaging .emr-study-counts,.emr-imaging .emr-study-source{grid-column:1/-1;color:var(--emr-muted)}
.emr-imaging .emr-study-source.emr-ok{color:var(--emr-ok)}
.emr-imaging .emr-study-source.emr-warn{color:var(--emr-warn)}
.emr-imaging .emr-center{display:flex;flex-direction:column;min-width:0;min-height:0}
.emr-imaging .emr-series-strip{display:flex;gap:4px;overflow-x:auto;padding:4px;border-bottom:1px solid var(--emr-border);flex:none}
.emr-imaging .emr-series{display:grid;grid-template-columns:48px auto;grid-template-rows:auto auto auto;gap:0 6px;text-align:left;max-width:16em;position:relative}
.emr-imaging .emr-thumb-box{grid-row:1/4;width:48px;height:48px;background:#000;display:flex;align-items:center;justify-content:center}
.emr-imaging .emr-thumb{max-width:48px;max-height:48px}
.emr-imaging .emr-series-label{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.emr-imaging .emr-series-count{color:var(--emr-muted)}
.emr-imaging .emr-series-doc{opacity:.75;cursor:default;border-style:dashed}
.emr-imaging .emr-key-badge{position:absolute;top:2px;left:2px;color:#1b1f24;background:#ffd54f;font-size:10px;font-weight:700;padding:0 3px;border-radius:2px}
.emr-imaging .emr-key{color:#1b1f24;background:#ffd54f;font-weight:700;padding:0 4px;border-radius:2px}
.emr-imaging .emr-mini-progress{height:3px;background:var(--emr-border);display:block}
.emr-imaging .emr-mini-progress.emr-idle{visibility:hidden}
.emr-imaging .emr-mini-progress span,.emr-imaging .emr-progress span{display:block;height:100%;background:var(--emr-accent)}
.emr-imaging .emr-panes{flex:1;display:flex;gap:4px;min-width:0;min-height:0}
.emr-imaging .emr-pane{flex:1;display:flex;flex-direction:column;min-width:0;min-height:0}
.emr-imaging .emr-pane-head{display:flex;gap:.5em;align-items:center;padding:2px 4px;flex-wrap:wrap}
.emr-imaging .emr-pane-label{flex:1 1 100%;font-weight:600}
.emr-imaging .emr-comparable{color:var(--emr-accent);font-weight:600}
.emr-imaging .emr-viewer{flex:1;display:flex;flex-direction:column;min-height:0}
.emr-imaging .emr-toolbar{display:flex;flex-wrap:wrap;gap:3px;padding:3px 4px;border-bottom:1px solid var(--emr-border);flex:none;align-items:center}
.emr-imaging .emr-fps{display:flex;align-items:center;gap:4px}
.emr-imaging .emr-fps input{width:6em;padding:0}
.emr-imaging .emr-diagnostic{margin-left:auto;color:var(--emr-accent);padding:2px 6px;border:1px solid var(--emr-border);border-radius:3px;text-decoration:none}
.emr-imaging .emr-viewport{position:relative;flex:1;background:#000;min-width:0;min-height:160px;overflow:hidden;touch-action:none;user-select:none;color:#eee}
.emr-imaging .emr-canvas{position:absolute;left:50%;top:50%}
.emr-imaging .emr-measure-box{position:absolute;left:50%;top:50%;pointer-events:none}
.emr-imaging .emr-measure-svg{position:absolute;inset:0;width:100%;height:100%;overflow:visible}
.emr-imaging .emr-measure-line{fill:none;stroke:#4fc3f7;stroke-width:1.5px;vector-effect:non-scaling-stroke}
.emr-imaging .emr-measure-grab{fill:none;stroke:transparent;stroke-width:12px;vector-effect:non-scaling-stroke;pointer-events:stroke;cursor:move}
.emr-imaging .emr-measure-selected .emr-measure-line{stroke:#ffd54f}
.emr-imaging .emr-measure-draft .emr-measure-line{stroke-dasharray:4 3}
.emr-imaging .emr-handle{fill:#ffd54f;pointer-events:all;cursor:crosshair}
.emr-imaging .emr-measure-label{position:absolute;transform-origin:0 0;transform:var(--emr-upright) translate(8px,-50%);color:#fff;font-size:12px;white-space:nowrap;text-shadow:0 0 2px #000,0 0 2px #000;pointer-events:none}
.emr-imaging .emr-text-label{pointer-events:auto;cursor:move;font-size:13px}
.emr-imaging .emr-text-input{position:absolute;transform-origin:0 0;transform:var(--emr-upright) translate(8px,-50%);pointer-events:auto;font:13px sans-serif;min-width:12em;padding:1px 4px}
.emr-imaging .emr-state-mark{fill:none;stroke:#ffb74d;stroke-width:1.5px;vector-effect:non-scaling-stroke}
.emr-imaging .emr-state-filled{fill:rgba(255,183,77,.25)}
.emr-imaging .emr-state-text{position:absolute;transform-origin:0 0;transform:var(--emr-upright) translate(-50%,-50%);color:#ffb74d;font-size:12px;white-space:pre;text-shadow:0 0 2px #000,0 0 2px #000;pointer-events:none}
.emr-imaging .emr-state{pointer-events:auto;color:#ffb74d}
.emr-imaging .emr-state-remove{margin-left:4px;padding:0 4px;font:inherit;line-height:1}
.emr-imaging .emr-overlay{position:absolute;inset:0;pointer-events:none;font-size:12px;text-shadow:0 0 2px #000,0 0 2px #000}
.emr-imaging .emr-ov{position:absolute;display:flex;flex-direction:column;max-width:48%}
.emr-imaging .emr-ov-tl{left:6px;top:4px}
.emr-imaging .emr-ov-tr{right:18px;top:4px;text-align:right;align-items:flex-end}
.emr-imaging .emr-ov-bl{left:6px;bottom:4px}
.emr-imaging .emr-ov-br{right:18px;bottom:4px;text-align:right;align-items:flex-end}
.emr-imaging .emr-orient{position:absolute;font-weight:700;color:#ffd54f}
.emr-imaging .emr-orient-l{left:4px;top:50%;transform:translateY(-50%)}
.emr-imaging .emr-orient-r{right:16px;top:50%;transform:translateY(-50%)}
.emr-imaging .emr-orient-t{top:4px;left:50%;transform:translateX(-50%)}
.emr-imaging .emr-orient-b{bottom:4px;left:50%;transform:translateX(-50%)}
.emr-imaging .emr-scale{position:absolute;bottom:22px;left:50%;transform:translateX(-50%);border:2px solid #eee;border-top:none;height:6px}
.emr-imaging .emr-scale span{position:absolute;bottom:6px;left:50%;transform:translateX(-50%);white-space:nowrap}
.emr-imaging .emr-lossy{color:#1b1f24;background:#ffb300;font-weight:700;padding:0 4px;border-radius:2px}
.emr-imaging .emr-scrollbar{position:absolute;right:2px;top:4px;bottom:4px;width:10px;background:rgba(255,255,255,.12);border-radius:5px;cursor:pointer}
.emr-imaging .emr-scroll-thumb{position:absolute;left:0;right:0;background:rgba(255,255,255,.6);border-radius:5px;min-height:6px}
.emr-imaging .emr-progress{position:absolute;left:0;right:0;top:0;height:3px;background:rgba(255,255,255,.15)}
.emr-imaging .emr-blocked{position:absolute;inset:20% 8px auto 8px;padding:12px;background:var(--emr-alert);color:#fff;font-weight:600;display:flex;flex-direction:column;gap:4px;border-radius:4px}
.emr-imaging .emr-reports{overflow:auto;min-height:0;border-left:1px solid var(--emr-border);padding:6px 8px}
.emr-imaging .emr-reports:empty{display:none}
.emr-imaging .emr-report h3{font-size:13px;margin:4px 0}
.emr-imaging .emr-report-text{white-space:pre-wrap;font:inherit;margin:4px 0;background:var(--emr-panel);padding:4px;border:1px solid var(--emr-border)}
.emr-imaging .emr-report-link{color:var(--emr-accent)}
.emr-imaging .emr-sr-panel{position:relative;border-bottom:1px solid var(--emr-border);padding-bottom:4px;margin-bottom:4px}
.emr-imaging .emr-sr-close{position:absolute;right:0;top:0}
.emr-imaging .emr-sr-list{list-style:none;margin:0;padding-left:12px}
.emr-imaging .emr-sr-root{padding-left:0}
.emr-imaging .emr-sr-container>.emr-sr-concept{font-weight:600}
.emr-imaging .emr-muted{color:var(--emr-muted)}
.emr-imaging .emr-status{min-height:1.6em;padding:2px 8px;color:var(--emr-muted);flex:none}
.emr-imaging .emr-upload{flex:none;max-height:40%;overflow:auto;border-top:1px solid var(--emr-border);padding:4px 8px}
.emr-imaging .emr-upload-drop{display:flex;flex-wrap:wrap;gap:6px 12px;align-items:center;border:1px dashed var(--emr-border);padding:6px}
.emr-imaging .emr-upload-pick input{margin-left:4px;max-width:14em}
.emr-imaging .emr-upload-studies{margin:4px 0;display:flex;flex-direction:column}
.emr-imaging .emr-upload-actions{display:flex;gap:8px;align-items:center;margin:4px 0}
.emr-imaging .emr-upload-total{flex:1;max-width:24em}
.emr-imaging .emr-upload-files{list-style:none;margin:0;padding:0}
.emr-imaging .emr-upload-file{display:grid;grid-template-columns:minmax(0,1fr) 5em 8em minmax(0,1.2fr);gap:6px;align-items:center}
.emr-imaging .emr-upload-name{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.emr-imaging .emr-upload-file[data-state=refused],.emr-imaging .emr-upload-file[data-state=failed]{color:var(--emr-alert)}
.emr-imaging .emr-upload-note{color:var(--emr-alert);margin:2px 0}
@container emr (max-width:700px){.emr-imaging .emr-panes{flex-direction:column}}
@container emr (max-width:900px){.emr-imaging .emr-body{grid-template-columns:15em minmax(0,1fr);grid-template-rows:minmax(0,1fr) auto}
  .emr-imaging .emr-reports{grid-column:1/-1;max-height:8em;border-left:none;border-top:1px solid var(--emr-border)}}
@container emr (max-width:560px){.emr-imaging .emr-body{grid-template-columns:minmax(0,1fr);grid-template-rows:auto minmax(0,1fr) auto}
  .emr-imaging .emr-studies{max-height:11em;border-right:none;border-bottom:1px solid var(--emr-border)}
  .emr-imaging .emr-filters input{width:8.5em}.emr-imaging .emr-reports{max-height:6em}.emr-imaging .emr-fps span{display:none}
  .emr-imaging .emr-series-strip{padding:2px}.emr-imaging .emr-ov{font-size:11px}.emr-imaging .emr-ov-optional{display:none}}
"#;
