import type { LayersModelJson } from '@fedward/models';
import type { NamedTensor } from '@fedward/protocol';
import { fetchWithBearer } from '@fedward/ui/download';

/**
 * The study's released global model, as the admin already takes it home (model.json +
 * weights.bin of GET /api/admin/studies/<id>/…): the only model weights the server hands the
 * admin. No hospital's own update ever reaches this page.
 */
export interface GlobalModel {
  /** The round the weights come from (0: the initial model). */
  round: number;
  weights: NamedTensor[];
}

/**
 * model.json's manifest applied to weights.bin: float32 little-endian values, one tensor after the
 * other in manifest order (what exportLayersModel writes). Throws when the two do not fit.
 */
export function weightsFromLayersFiles(modelJson: LayersModelJson, weightsBin: ArrayBuffer): NamedTensor[] {
  const specs = modelJson.weightsManifest.flatMap((group) => group.weights);
  const needed = specs.reduce((n, w) => n + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
  if (needed !== weightsBin.byteLength) throw new Error(`weights.bin has ${weightsBin.byteLength} bytes, model.json needs ${needed}`);
  const view = new DataView(weightsBin);
  let offset = 0;
  return specs.map((w) => {
    if (w.dtype !== 'float32') throw new Error(`weight "${w.name}" is ${String(w.dtype)}, not float32`);
    const values = new Float32Array(w.shape.reduce((a, b) => a * b, 1));
    // DataView, not a Float32Array over the buffer: the file is little-endian whatever this machine is.
    for (let k = 0; k < values.length; k++, offset += 4) values[k] = view.getFloat32(offset, true);
    return { name: w.name, shape: [...w.shape], values };
  });
}

/** Fetches the study's global model with the admin's session (the take-home files). */
export async function fetchGlobalModel(session: string, study: string): Promise<GlobalModel> {
  const base = `/api/admin/studies/${encodeURIComponent(study)}`;
  const [json, bin] = await Promise.all([fetchWithBearer(session, `${base}/model.json`), fetchWithBearer(session, `${base}/weights.bin`)]);
  const modelJson = JSON.parse(await json.text()) as LayersModelJson;
  return { round: modelJson.userDefinedMetadata.fedward.round, weights: weightsFromLayersFiles(modelJson, await bin.arrayBuffer()) };
}
