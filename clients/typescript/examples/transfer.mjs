// A signed transfer on the devnet, from the package folder (clients/typescript) after `npm ci && npm run build`:
//
//   dotnet run --project node -c Release -- devnet      # in the repository root, in another terminal
//   node examples/transfer.mjs [recipient hex public key] [amount]
//
// AURIGRAPH_NODES (comma-separated gRPC addresses), AURIGRAPH_DEV_KEY (a funded key file) and AURIGRAPH_CA_FILE (for a
// node API over TLS, devnet --api-tls) override the devnet's defaults.
import { AurigraphClient, Key, signTransfer } from '@aurigraph/client';

const nodes = (process.env.AURIGRAPH_NODES ?? '127.0.0.1:7201,127.0.0.1:7202,127.0.0.1:7203,127.0.0.1:7204,127.0.0.1:7205').split(',');
const keyFile = process.env.AURIGRAPH_DEV_KEY ?? new URL('../../../devnet/keys/dev-1.key', import.meta.url).pathname;
const caFile = process.env.AURIGRAPH_CA_FILE;
const to = process.argv[2] ?? Key.generate().publicKeyHex;
const amount = BigInt(process.argv[3] ?? '10');

const key = await Key.load(keyFile);
const client = new AurigraphClient({ nodes, ...(caFile ? { tls: { caFile } } : {}) });
try {
  const { chainId } = await client.getStatus();
  const { nonce } = await client.getAccount(key.publicKeyHex, { consistency: 'linearizable' });
  const signed = signTransfer(key, { chainId, nonce, to, amount });
  console.log(`from ${key.publicKeyHex} nonce ${nonce}: ${amount} to ${to}, tx ${signed.txId}`);

  const [result] = await client.submit([signed], { wait: true });
  console.log(`${result.state} at height ${result.height}, index ${result.index}, receipt ${result.receipt?.success ? 'ok' : result.receipt?.failureReason}`);

  const recipient = await client.getAccount(to, { consistency: 'linearizable' });
  console.log(`recipient balance ${recipient.balance} (read at height ${recipient.height})`);

  for await (const block of client.subscribeBlocks(result.height)) {
    console.log(`block ${block.header.height}: ${block.transactions.length} transaction(s), ours ${block.transactions.some((t) => t.txId === signed.txId) ? 'included' : 'missing'}`);
    break;
  }
} finally {
  client.close();
}
