// Audio in the browser for a speech run's card: a chosen file goes to the server as it is (it reads WAV, FLAC, OGG, MP3
// and, through ffmpeg, M4A, WebM, …); a recording from the microphone (MediaRecorder: WebM/Opus in Chromium, Ogg in
// Firefox, MP4 in Safari) is decoded here and sent as a mono 16-bit PCM WAV, which the card also plays back.
"use strict";

function bytesBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

// A decoded AudioBuffer as a mono 16-bit PCM WAV file (bytes).
function wavBytes(buffer) {
  const n = buffer.length, rate = buffer.sampleRate, channels = buffer.numberOfChannels;
  const mono = new Float32Array(n);
  for (let c = 0; c < channels; c++) {
    const data = buffer.getChannelData(c);
    for (let i = 0; i < n; i++) mono[i] += data[i] / channels;
  }
  const out = new DataView(new ArrayBuffer(44 + 2 * n));
  const text = (at, s) => { for (let i = 0; i < s.length; i++) out.setUint8(at + i, s.charCodeAt(i)); };
  text(0, "RIFF"); out.setUint32(4, 36 + 2 * n, true); text(8, "WAVE");
  text(12, "fmt "); out.setUint32(16, 16, true); out.setUint16(20, 1, true); out.setUint16(22, 1, true);
  out.setUint32(24, rate, true); out.setUint32(28, 2 * rate, true); out.setUint16(32, 2, true);
  out.setUint16(34, 16, true);
  text(36, "data"); out.setUint32(40, 2 * n, true);
  for (let i = 0; i < n; i++) {
    const v = Math.max(-1, Math.min(1, mono[i]));
    out.setInt16(44 + 2 * i, v < 0 ? v * 0x8000 : v * 0x7fff, true);
  }
  return new Uint8Array(out.buffer);
}

// Any audio blob the browser can decode → base64 WAV.
async function decodedWavBase64(blob) {
  const context = new (window.AudioContext || window.webkitAudioContext)();
  let buffer;
  try {
    buffer = await context.decodeAudioData(await blob.arrayBuffer());
  } catch (e) {
    throw new Error(`this browser cannot decode ${blob.name || "the recording"} as audio (${e.message || e.name})`);
  } finally {
    context.close();
  }
  if (!buffer.length) throw new Error("the recording is empty");
  return bytesBase64(wavBytes(buffer));
}

// The base64 bytes of a chosen file, sent as they are.
async function audioFileBase64(file) {
  return bytesBase64(new Uint8Array(await file.arrayBuffer()));
}

// A record/stop button and a player for what was recorded; recording() gives the last recording's base64 WAV (or
// null), clear() forgets it (a chosen file replaces it). onChange is called when a recording starts (so a chosen file
// is no longer what is sent) and ends.
function recorderControls(onChange) {
  const box = document.createElement("div");
  box.className = "recorder";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "record";
  button.textContent = "● Record";
  const status = document.createElement("span");
  status.className = "muted record-status";
  const player = document.createElement("audio");
  player.controls = true;
  player.hidden = true;
  box.append(button, status, player);
  let recorder = null, wav = null, started = 0;

  button.addEventListener("click", async () => {
    if (recorder) { recorder.stop(); return; }
    if (!navigator.mediaDevices || !window.MediaRecorder) {
      status.textContent = "this browser cannot record (open the page at http://127.0.0.1 or https)";
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) {
      status.textContent = `no microphone: ${e.message || e.name}`;
      return;
    }
    const chunks = [];
    recorder = new MediaRecorder(stream);
    recorder.addEventListener("dataavailable", (event) => { if (event.data.size) chunks.push(event.data); });
    recorder.addEventListener("stop", async () => {
      stream.getTracks().forEach((t) => t.stop());
      recorder = null;
      button.textContent = "● Record";
      const blob = new Blob(chunks, { type: chunks.length ? chunks[0].type : "audio/webm" });
      try {
        wav = await decodedWavBase64(blob);
        player.src = `data:audio/wav;base64,${wav}`;
        player.hidden = false;
        status.textContent = `recorded ${((Date.now() - started) / 1000).toFixed(1)} s`;
      } catch (e) {
        wav = null;
        status.textContent = e.message;
      }
      box.dataset.recorded = wav ? "true" : "false";
      onChange(wav);
    });
    wav = null;
    box.dataset.recorded = "false";
    onChange(null);
    started = Date.now();
    recorder.start();
    button.textContent = "■ Stop";
    status.textContent = "recording…";
  });
  const clear = () => { wav = null; box.dataset.recorded = "false"; };
  return { element: box, recording: () => wav, clear };
}
