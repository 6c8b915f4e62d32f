/**
 * The microphone's AudioWorklet: hands every block of the first input channel
 * (128 float samples at the AudioContext's rate) to the page, which
 * downsamples and sends it. Bundled as its own file (`?worker&url`), since the
 * gateway's CSP only allows scripts from the same origin.
 */

declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, processor: new () => AudioWorkletProcessor): void;

class CaptureProcessor extends AudioWorkletProcessor {
  process(inputs: Float32Array[][]): boolean {
    const channel = inputs[0]?.[0];
    if (channel && channel.length > 0) {
      const copy = channel.slice();
      this.port.postMessage(copy, [copy.buffer]);
    }
    return true;
  }
}

registerProcessor("june-capture", CaptureProcessor);
