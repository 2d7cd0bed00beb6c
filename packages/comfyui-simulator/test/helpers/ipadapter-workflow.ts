import { textToImage } from '../../src/sample-workflows';

/** The reference-image graph of the protocol notes (§8.4): LoadImage → IPAdapterUnifiedLoader → IPAdapter → KSampler.model. */
export function ipAdapterTextToImage(options: { image: string; preset?: string; weight?: number; prefix?: string }) {
  const base = textToImage({ prefix: options.prefix ?? 'jobs/ipadapter/img' });
  return {
    ...base,
    '20': { class_type: 'LoadImage', inputs: { image: options.image } },
    '21': { class_type: 'IPAdapterUnifiedLoader', inputs: { model: ['4', 0], preset: options.preset ?? 'PLUS (high strength)' } },
    '22': {
      class_type: 'IPAdapter',
      inputs: { model: ['21', 0], ipadapter: ['21', 1], image: ['20', 0], weight: options.weight ?? 0.7, start_at: 0.0, end_at: 1.0, weight_type: 'standard' },
    },
    '3': { ...base['3'], inputs: { ...base['3'].inputs, model: ['22', 0] } },
  };
}
