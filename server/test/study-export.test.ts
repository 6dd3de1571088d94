import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { onnxSupport, type LayersModelJson } from '@fedward/models';
import { readOnnx } from '@fedward/models/onnx';
import { parsePrivacyCard } from '@fedward/model-card';
import { adminSession, client, hospitalData, runToEnd, serverPerTest, tempDb } from './helpers';

const servers = serverPerTest();
const PASSWORD = 'export-admin-password';
const SIZE = 16;

/** Accuracy of a loaded model on a dataset the way the hospitals measure it: argmax against the label. */
async function accuracyOf(model: tf.LayersModel, seed: number): Promise<number> {
  const data = hospitalData(SIZE, 24, seed);
  let right = 0;
  for await (const b of data.batches(64)) {
    const predicted = tf.tidy(() => (model.predict(tf.tensor4d(b.x, [b.size, SIZE, SIZE, 1])) as tf.Tensor).argMax(-1).dataSync());
    for (let i = 0; i < b.size; i++) if (predicted[i] === b.y[i]) right += 1;
  }
  return right / data.size;
}

describe('study export', () => {
  it('exports the final model as TF.js files that reproduce each hospital’s reported held-out accuracy', async () => {
    const server = await servers.start({
      dbPath: tempDb(),
      adminPassword: PASSWORD,
      federation: { id: 'exported', name: 'Exported', rounds: 2, minClients: 2, model: { inputSize: SIZE }, training: { epochs: 2, batchSize: 8 } },
    });
    const tokens = [server.createToken('hospital-a'), server.createToken('hospital-b')];
    await Promise.all([runToEnd(client(server.url, tokens[0]!, SIZE, 1)), runToEnd(client(server.url, tokens[1]!, SIZE, 2))]);

    const session = await adminSession(server.url, PASSWORD);
    const get = (file: string, auth = `Bearer ${session}`) => fetch(`${server.url}/api/admin/studies/exported/${file}`, { headers: { authorization: auth } });
    expect((await get('model.json', 'Bearer nope')).status).toBe(401);
    expect((await fetch(`${server.url}/api/admin/studies/missing/model.json`, { headers: { authorization: `Bearer ${session}` } })).status).toBe(404);
    const modelJson = (await (await get('model.json')).json()) as LayersModelJson;
    const weights = new Uint8Array(await (await get('weights.bin')).arrayBuffer());
    expect(modelJson.userDefinedMetadata.fedward.round).toBe(2);
    // weights.bin holds the stored global weights of round 2, to the bit, in the manifest's order.
    const stored = new Map(server.store.latestRound('exported').weights.map((t) => [t.name, t.values]));
    const floats = new Float32Array(weights.buffer, weights.byteOffset, weights.byteLength / 4);
    expect(floats.length).toBe([...stored.values()].reduce((n, v) => n + v.length, 0));
    expect([...floats]).toEqual(modelJson.weightsManifest[0]!.weights.flatMap((w) => [...(stored.get(w.name) ?? [])]));

    // model.onnx: the same round's weights as an ONNX graph (small-cnn exports), with model.json's metadata.
    const onnxResponse = await get('model.onnx');
    expect(onnxResponse.status).toBe(200);
    expect(onnxResponse.headers.get('content-disposition')).toBe('attachment; filename="exported-model.onnx"');
    const onnx = readOnnx(new Uint8Array(await onnxResponse.arrayBuffer()));
    expect(onnx.irVersion).toBe(7);
    expect(onnx.opsets).toEqual([{ domain: '', version: 13 }]);
    expect(onnx.inputs).toEqual(['slice']);
    expect(onnx.outputs).toEqual(['logits']);
    const support = onnxSupport({ kind: 'small-cnn' });
    expect(support.supported && onnx.ops).toEqual(support.supported && support.ops);
    expect(onnx.initializers.sort()).toEqual([...stored.keys()].sort());
    expect(onnx.metadata['round']).toBe('2');
    expect(onnx.info).toMatchObject({ format: 'fedward.onnx-export', round: 2, spec: modelJson.userDefinedMetadata.fedward.spec, input: modelJson.userDefinedMetadata.fedward.input });

    const model = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest[0]!.weights, weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) }),
    );
    // The hospitals' held-out sets are hospitalData(SIZE, 24, seed + 1000) (helpers.client).
    const reported = server.store.evaluations('exported').filter((e) => e.round === 2);
    expect(reported.map((e) => e.hospital).sort()).toEqual(['hospital-a', 'hospital-b']);
    for (const [hospital, seed] of [['hospital-a', 1001], ['hospital-b', 1002]] as const) {
      expect(await accuracyOf(model, seed)).toBeCloseTo(reported.find((e) => e.hospital === hospital)!.accuracy, 10);
    }
    model.dispose();
  });

  it('exports a privacy card whose ledger is the server’s, and the rounds and ledger as CSV', async () => {
    const server = await servers.start({
      dbPath: tempDb(),
      adminPassword: PASSWORD,
      federation: {
        id: 'carded',
        name: 'Carded <b>study</b>',
        rounds: 2,
        minClients: 2,
        model: { inputSize: SIZE },
        training: { epochs: 1, batchSize: 8 },
        privacy: { noiseMultiplier: 2, clipNorm: 1, targetEpsilon: 50, delta: 1e-5, unit: 'patient', accountant: 'rdp', virtualClients: 1 },
      },
    });
    const tokens = [server.createToken('hospital-a'), server.createToken('hospital-b')];
    await Promise.all([runToEnd(client(server.url, tokens[0]!, SIZE, 1)), runToEnd(client(server.url, tokens[1]!, SIZE, 2))]);
    const session = await adminSession(server.url, PASSWORD);
    const get = (file: string) => fetch(`${server.url}/api/admin/studies/carded/${file}`, { headers: { authorization: `Bearer ${session}` } });

    const card = parsePrivacyCard(await (await get('privacy-card.json')).json());
    const stored = server.store.rounds('carded');
    expect(card.privacy!.ledger.map((e) => [e.round, e.noiseMultiplier, e.clip, e.updates, e.epsilon])).toEqual(
      stored.map((r) => [r.round, r.dp!.noiseMultiplier, r.dp!.clip, r.dp!.updates, r.dp!.epsilon]),
    );
    expect(card.planDigest).toBe(server.coordinator.planDigest);
    const html = await (await get('privacy-card.html')).text();
    expect(html).toContain('Carded &lt;b&gt;study&lt;/b&gt;');
    expect(html).not.toContain('<b>study</b>');
    const ledger = await (await get('ledger.csv')).text();
    expect(ledger.trim().split('\n')).toHaveLength(1 + stored.length);
    const rounds = await (await get('rounds.csv')).text();
    expect(rounds).toContain('hospital-a');

    // Each hospital takes home the model and its own copy of the card: the same ledger, only its own rows.
    const mine = (file: string, token: string, study = 'carded') => fetch(`${server.url}/api/studies/${study}/${file}`, { headers: { authorization: `Bearer ${token}` } });
    const copy = parsePrivacyCard(await (await mine('privacy-card.json', tokens[0]!)).json());
    expect(copy.copyFor).toBe('hospital-a');
    expect(copy.privacy!.ledger).toEqual(card.privacy!.ledger);
    expect(copy.data.map((d) => d.hospital)).toEqual(['hospital-a']);
    expect(new Set(copy.evaluation.map((e) => e.hospital))).toEqual(new Set(['hospital-a']));
    expect(copy.evaluation).toEqual(card.evaluation.filter((e) => e.hospital === 'hospital-a'));
    expect(await (await mine('privacy-card.html', tokens[1]!)).text()).not.toContain('>hospital-a<');
    const adminWeights = new Uint8Array(await (await get('weights.bin')).arrayBuffer());
    expect(new Uint8Array(await (await mine('weights.bin', tokens[1]!)).arrayBuffer())).toEqual(adminWeights);
    const adminOnnx = new Uint8Array(await (await get('model.onnx')).arrayBuffer());
    expect(readOnnx(adminOnnx).info!.round).toBe(2);
    expect(new Uint8Array(await (await mine('model.onnx', tokens[0]!)).arrayBuffer())).toEqual(adminOnnx);
    // Not for hospitals: every hospital's rows (rounds.csv), a study it is not enrolled in, a wrong token.
    expect((await mine('rounds.csv', tokens[0]!)).status).toBe(404);
    const elsewhere = await mine('model.json', tokens[0]!, 'exported');
    expect(elsewhere.status).toBe(404);
    expect(((await elsewhere.json()) as { error: string }).error).toBe('hospital-a is not enrolled in a study exported');
    expect((await mine('model.json', 'fwd_wrong')).status).toBe(401);
  });
});

