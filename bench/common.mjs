// The benchmark bodies, shared by Node (node.mjs) and Chromium (page.mjs): no imports, no I/O.
// Every timing is a median of samples; each sample times enough back-to-back calls to last
// a few milliseconds, so coarse browser timers do not matter.

const now = () => performance.now();

/** Median of a numeric array. */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Calls per sample so that one sample lasts at least `minMs`. */
function calibrate(fn, minMs) {
  let reps = 1;
  for (;;) {
    const t0 = now();
    for (let i = 0; i < reps; i++) fn(i);
    const dt = now() - t0;
    if (dt >= minMs || reps >= 1 << 20) return reps;
    reps = dt <= 0 ? reps * 8 : Math.min(reps * 8, Math.ceil((reps * minMs * 1.2) / dt));
  }
}

/**
 * Median time of one call of each function, in ms. Functions are sampled in turn (a round
 * samples each once), so drift hits them alike, in an order shuffled every round (a fixed
 * seed): what runs just before a function (its caches, the branch predictor) changes its time
 * by up to 15 %, so no function may always follow the same one. `fn(i)` receives the call
 * index.
 */
export function timeAll(fns, { samples = 20, minMs = 2, warmup = 5 } = {}) {
  const reps = fns.map((fn) => {
    for (let i = 0; i < warmup; i++) fn(i);
    return calibrate(fn, minMs);
  });
  const times = fns.map(() => []);
  let calls = fns.map(() => 0);
  let seed = 0x2545f491;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const order = fns.map((_, k) => k);
  for (let s = 0; s < samples; s++) {
    for (let j = order.length - 1; j > 0; j--) {
      const r = Math.floor(random() * (j + 1));
      [order[j], order[r]] = [order[r], order[j]];
    }
    for (const k of order) {
      const t0 = now();
      for (let i = 0; i < reps[k]; i++) fns[k](i);
      times[k].push((now() - t0) / reps[k]);
      calls[k] += reps[k];
    }
  }
  return times.map((t, k) => ({ ms: median(t), calls: calls[k] }));
}

// ---- Window/level -------------------------------------------------------------------------

/** A 512 × 512 CT-like int16 slice (HU, slope 1, intercept 0): air, a body, bone, noise. */
export function ctSlice(rows = 512, cols = 512) {
  const px = new Int16Array(rows * cols);
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      const dx = x - cols / 2, dy = y - rows / 2;
      const r = Math.sqrt(dx * dx + dy * dy);
      let v = -1024;
      if (r < cols * 0.45) v = 40;
      if (r > cols * 0.38 && r < cols * 0.42) v = 1200;
      if (Math.abs(dx) < 40 && Math.abs(dy + 30) < 30) v = 1800; // a vertebra
      if (r < cols * 0.45) v += Math.round((rand() - 0.5) * 60);
      px[y * cols + x] = v;
    }
  }
  return px;
}

/**
 * The JavaScript reference path, cornerstone-core 2.6's grayscale redraw minus the canvas calls:
 * `generateLut` (a Uint8ClampedArray over the stored min..max, indexed from
 * `offset = min(minPixelValue, 0)`, filled with the linear VOI `((m - wc) / ww + 0.5) * 255` of
 * the linear modality LUT `sv * slope + intercept`), then `storedPixelDataToCanvasImageData`,
 * which writes only the alpha byte of each pixel into the render canvas's ImageData (filled
 * white once, when the canvas is set up). Not included, on either side: `putImageData` and
 * cornerstone's extra `drawImage` onto the visible canvas. `rgba` writes r, g, b and a (as our
 * renderer's output does) and is reported for information.
 */
export function makeCornerstone(pixels, slope, intercept) {
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const offset = Math.min(min, 0);
  const lut = new Uint8ClampedArray(max - offset + 1);
  // cornerstone keeps the LUT while the viewport's VOI and modality LUT are unchanged.
  let lastWw = NaN, lastWc = NaN;
  function generateLut(ww, wc) {
    if (ww === lastWw && wc === lastWc) return lut;
    lastWw = ww;
    lastWc = wc;
    const mlutfn = (sv) => sv * slope + intercept;
    const vlutfn = (m) => ((m - wc) / ww + 0.5) * 255.0;
    for (let sv = min; sv <= max; sv++) lut[sv + -offset] = vlutfn(mlutfn(sv));
    return lut;
  }
  return {
    rgba(out, ww, wc) {
      const lut = generateLut(ww, wc);
      const n = pixels.length, shift = -offset;
      let o = 0;
      for (let i = 0; i < n; i++) {
        const g = lut[pixels[i] + shift];
        out[o] = g;
        out[o + 1] = g;
        out[o + 2] = g;
        out[o + 3] = 255;
        o += 4;
      }
    },
    /** Only the LUT for a new window (what a window change costs before the pixels). */
    lut(ww, wc) {
      return generateLut(ww, wc)[0];
    },
    alphaOnly(out, ww, wc) {
      const lut = generateLut(ww, wc);
      const n = pixels.length, shift = -offset;
      let o = 3;
      for (let i = 0; i < n; i++) {
        out[o] = lut[pixels[i] + shift];
        o += 4;
      }
    },
  };
}

/**
 * W/L 512² int16 → RGBA: ours (wasm, the viewer's redraw into its kept RGBA buffer) vs the
 * cornerstone path vs a copy. For information: ours into a new zeroed buffer per redraw, and
 * ours with an unchanged window (scrolling: the plan is cached, only the pixels are rendered).
 * `memory` is the wasm instance's memory: ours ends, as the viewer does, with the `ImageData`
 * over the RGBA bytes in wasm memory (a view, no copy), kept across redraws and made again only
 * when the bytes move or the memory grows; Node has no ImageData, so there only the view is
 * kept. Cornerstone writes into an ImageData it keeps (a Uint8ClampedArray in Node).
 */
export function benchWindowLevel(wasm, memory, { samples = 60 } = {}) {
  const rows = 512, cols = 512;
  const pixels = ctSlice(rows, cols);
  const wl = new wasm.WindowLevel(rows, cols, pixels, 1, 0);
  const cs = makeCornerstone(pixels, 1, 0);
  const hasImageData = typeof ImageData !== 'undefined';
  const canvasData = hasImageData ? new ImageData(cols, rows).data : new Uint8ClampedArray(rows * cols * 4);
  canvasData.fill(255); // cornerstone's render canvas starts white
  const out = new Uint8ClampedArray(rows * cols * 4);
  const src = new Uint8Array(rows * cols * 4).map((_, i) => i * 7);
  const dst = new Uint8ClampedArray(rows * cols * 4);
  // As the viewer does (view/draw.rs): the ImageData over the RGBA bytes in wasm memory is kept
  // and made again only when the bytes move or the memory grows (detaching its buffer).
  let kept = null;
  const wrap = () => {
    const ptr = wl.ptr(), len = wl.byte_len();
    if (!kept || kept.buffer !== memory.buffer || kept.ptr !== ptr || kept.len !== len) {
      const view = new Uint8ClampedArray(memory.buffer, ptr, len);
      kept = { buffer: memory.buffer, ptr, len, data: hasImageData ? new ImageData(view, cols, rows).data : view };
    }
    return kept.data;
  };
  // Same windows for both: a soft-tissue window nudged each call so nothing is cached.
  const centre = (i) => 40 + (i % 7);
  let sink = 0;
  // Never the same window twice (each side keeps its last plan or LUT).
  const unique = (i) => 40 + (i % 100000) * 1e-3;
  const [ours, fresh, same, js, jsSame, jsRgba, memcpy, proof, lut] = timeAll(
    [
      (i) => { sink += wl.render_kept(centre(i), 400); sink += wrap()[0]; },
      (i) => { sink += wl.render(centre(i), 400); sink += wrap()[0]; },
      () => { sink += wl.render_kept(40, 400); sink += wrap()[0]; },
      (i) => { cs.alphaOnly(canvasData, 400, centre(i)); sink += canvasData[3]; },
      () => { cs.alphaOnly(canvasData, 400, 40); sink += canvasData[3]; },
      (i) => { cs.rgba(out, 400, centre(i)); sink += out[0]; },
      () => { dst.set(src); sink += dst[0]; },
      (i) => { sink += wl.new_window(unique(i), 400); },
      (i) => { sink += cs.lut(400, unique(i)); },
    ],
    { samples, minMs: 3 },
  );
  // Correctness, not timing: our output against the f64 formula pixel by pixel on this image
  // (windows the SIMD path takes and ones it leaves to the table), then every int16 and uint16
  // value through many windows (`check_exact`).
  let mismatches = 0;
  for (const [c, w] of [[40, 400], [43, 400], [40.5, 399.5], [-600, 1500], [300.25, 2000.75], [128.5, 256], [0, 1], [0, 0.5]]) {
    wl.render(c, w);
    mismatches += wl.mismatches(c, w);
  }
  const [exhaustiveCompared, exhaustiveWrong] = wasm.check_exact();
  // Information: cornerstone's VOI formula differs from PS3.3's by at most a level or two.
  wl.render(40, 400);
  cs.rgba(out, 400, 40);
  const ours4 = wrap();
  // Ours is white with the level as alpha (the viewer's layout); the JS RGBA has it in r, g, b.
  let maxDiff = 0;
  for (let i = 0; i < out.length; i += 4) maxDiff = Math.max(maxDiff, Math.abs(out[i] - ours4[i + 3]));
  wl.free();
  return { ours, fresh, same, js, jsSame, jsRgba, memcpy, proof, lut, maxDiff, mismatches, exhaustiveCompared, exhaustiveWrong, sink };
}

// ---- Parse --------------------------------------------------------------------------------

function countPeer(ds) {
  let n = 0;
  for (const tag in ds.elements) {
    n++;
    const items = ds.elements[tag].items;
    if (items) for (const item of items) if (item.dataSet) n += countPeer(item.dataSet);
  }
  return n;
}

/**
 * Parse every file with ours (`parse_all`, which copies the bytes into wasm memory, parses and
 * visits every element) and dicom-parser (`parseDicom`, then the same visit). Files either side
 * cannot parse are skipped and counted.
 */
export function benchParse(wasm, dicomParser, files, { samples = 20 } = {}) {
  const perFile = [];
  const oursFailed = [], peerFailed = [];
  for (const { name, bytes } of files) {
    const okOurs = wasm.parse_all(bytes) !== 0xffffffff;
    let okPeer = true;
    try {
      countPeer(dicomParser.parseDicom(bytes));
    } catch (e) {
      okPeer = false;
    }
    if (!okOurs) oursFailed.push(name);
    if (!okPeer) peerFailed.push(name);
    if (!okOurs || !okPeer) continue;
    let sink = 0;
    const [ours, peer] = timeAll(
      [() => { sink += wasm.parse_all(bytes); }, () => { sink += countPeer(dicomParser.parseDicom(bytes)); }],
      { samples, minMs: 2, warmup: 3 },
    );
    perFile.push({ name, size: bytes.length, ours: ours.ms, peer: peer.ms, calls: Math.min(ours.calls, peer.calls), sink });
  }
  return {
    files: files.length,
    timed: perFile.length,
    oursFailed,
    peerFailed,
    oursMedianMs: perFile.length ? median(perFile.map((f) => f.ours)) : NaN,
    peerMedianMs: perFile.length ? median(perFile.map((f) => f.peer)) : NaN,
    speedupMedian: perFile.length ? median(perFile.map((f) => f.peer / f.ours)) : NaN,
    minCalls: perFile.length ? Math.min(...perFile.map((f) => f.calls)) : 0,
    perFile,
  };
}

// ---- Decode -------------------------------------------------------------------------------

/**
 * The compressed transfer syntaxes and cornerstone's decoder for each: its wasm codecs
 * (OpenJPEG, OpenJPH, CharLS, libjpeg-turbo) and, for lossless JPEG, the JavaScript decoder its
 * image loader uses. RLE and 12-bit JPEG have no cornerstone codec package: ours is timed alone.
 */
export const DECODE_FAMILIES = [
  { family: 'JPEG baseline', peer: 'libjpeg-turbo (wasm)', codec: 'jpeg', uids: ['1.2.840.10008.1.2.4.50'] },
  { family: 'JPEG lossless', peer: 'jpeg-lossless-decoder-js', codec: 'lossless', uids: ['1.2.840.10008.1.2.4.57', '1.2.840.10008.1.2.4.70'] },
  { family: 'JPEG-LS', peer: 'CharLS (wasm)', codec: 'charls', uids: ['1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.81'] },
  { family: 'JPEG 2000', peer: 'OpenJPEG (wasm)', codec: 'openjpeg', uids: ['1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.91'] },
  { family: 'HTJ2K', peer: 'OpenJPH (wasm)', codec: 'openjph', uids: ['1.2.840.10008.1.2.4.201', '1.2.840.10008.1.2.4.202', '1.2.840.10008.1.2.4.203'] },
  { family: 'RLE', peer: null, codec: null, uids: ['1.2.840.10008.1.2.5'] },
];

/**
 * Cornerstone's decoders as `decode(codestream) → decoded byte count`, from the loaded codec
 * modules (`{ openjpeg, openjph, charls, jpeg }`: emscripten module instances) and the
 * lossless-JPEG `Decoder` class. Each call copies the codestream into the codec's heap, decodes
 * and reads the output's length, as cornerstone's image loader does.
 */
export function cornerstoneDecoders(modules, LosslessDecoder) {
  const emscripten = (module, cls) => {
    const decoder = new module[cls]();
    return (bytes) => {
      decoder.getEncodedBuffer(bytes.length).set(bytes);
      decoder.decode();
      return decoder.getDecodedBuffer().length;
    };
  };
  return {
    openjpeg: emscripten(modules.openjpeg, 'J2KDecoder'),
    openjph: emscripten(modules.openjph, 'HTJ2KDecoder'),
    charls: emscripten(modules.charls, 'JpegLSDecoder'),
    jpeg: emscripten(modules.jpeg, 'JPEGDecoder'),
    lossless: (bytes) => new LosslessDecoder().decode(bytes.buffer, bytes.byteOffset, bytes.length).byteLength,
  };
}

/** Frame 0's codestream of an encapsulated file, with dicom-parser (one frame per fragment run). */
function firstCodestream(dicomParser, bytes) {
  const ds = dicomParser.parseDicom(bytes);
  const pixel = ds.elements.x7fe00010;
  if (!pixel?.encapsulatedPixelData || !pixel.fragments?.length) return null;
  const frames = parseInt(ds.string('x00280008') ?? '1', 10) || 1;
  const frame = pixel.basicOffsetTable.length
    ? dicomParser.readEncapsulatedImageFrame(ds, pixel, 0)
    : frames === 1
      ? dicomParser.readEncapsulatedPixelDataFromFragments(ds, pixel, 0, pixel.fragments.length)
      : dicomParser.readEncapsulatedPixelDataFromFragments(ds, pixel, 0, 1);
  return { uid: ds.string('x00020010'), frame: new Uint8Array(frame) };
}

/**
 * Decode the first frame of every compressed file: ours (`decode_first_frame`: parse + decode,
 * the file copied into wasm memory) against cornerstone's decoder for its transfer syntax (the
 * codestream copied into the codec's heap). Files either side cannot decode are listed, not
 * timed. Per family: medians of our and the peer's times and of the per-file ratios.
 */
export function benchDecode(wasm, dicomParser, decoders, files, { samples = 15 } = {}) {
  const families = DECODE_FAMILIES.map((f) => ({ family: f.family, peer: f.peer, files: [], failed: [] }));
  for (const { name, bytes } of files) {
    let found;
    try {
      found = firstCodestream(dicomParser, bytes);
    } catch {
      continue;
    }
    const k = found ? DECODE_FAMILIES.findIndex((f) => f.uids.includes(found.uid)) : -1;
    if (k < 0) continue;
    const { codec } = DECODE_FAMILIES[k];
    const ours = () => wasm.decode_first_frame(bytes);
    const peer = codec ? () => decoders[codec](found.frame) : null;
    let peerOk = !!peer;
    try {
      if (peer) peer();
    } catch {
      peerOk = false;
    }
    if (ours() === 0xffffffff) {
      families[k].failed.push(`${name} (ours)`);
      continue;
    }
    if (peer && !peerOk) families[k].failed.push(`${name} (peer)`);
    let sink = 0;
    const fns = [() => { sink += ours(); }];
    if (peerOk) fns.push(() => { sink += peer(); });
    const [o, p] = timeAll(fns, { samples, minMs: 3, warmup: 2 });
    families[k].files.push({ name, size: bytes.length, ours: o.ms, peer: p?.ms ?? NaN, sink });
  }
  for (const f of families) {
    const timed = f.files.filter((x) => Number.isFinite(x.peer));
    f.oursMedianMs = f.files.length ? median(f.files.map((x) => x.ours)) : NaN;
    f.peerMedianMs = timed.length ? median(timed.map((x) => x.peer)) : NaN;
    f.ratioMedian = timed.length ? median(timed.map((x) => x.peer / x.ours)) : NaN;
    f.compared = timed.length;
  }
  return families;
}
