namespace Aurigraph.Node.Diagnostics;

/// <summary>
/// The stages a transaction's CPU is accounted to, in the order it meets them. Each stage's time is the CPU its threads
/// spent in that stage's code (see <see cref="StageMeter"/>); what no stage covers (the HTTP/2 server and its protobuf
/// decoding, TLS, the runtime, RocksDB's background threads) is the process's CPU minus their sum.
/// </summary>
public enum PipelineStage
{
    /// <summary>A client call's own work: handing its transactions to admission, building the answer.</summary>
    Ingress,

    /// <summary>Admission shards: recent-window and nonce checks, tracker and index lookups — signature checks excepted.</summary>
    Admission,

    /// <summary>Ed25519 signature checks, wherever they run (admission, forwarded batches, paranoid checks).</summary>
    Verify,

    /// <summary>Forwarding: batches sent to the leader and parsed on arrival, refusals sent back.</summary>
    Forwarding,

    /// <summary>The consensus loop taking admitted transactions into the mempool.</summary>
    Mempool,

    /// <summary>Cutting blocks: taking from the mempool, encoding the payload, proposing it.</summary>
    BlockBuild,

    /// <summary>The consensus core: ticks, peer messages stepped, Ready built and advanced.</summary>
    Raft,

    /// <summary>Replication out: frames handed to the transport, encoded and written to the peer streams.</summary>
    ReplicationSend,

    /// <summary>Replication in: frames read and decoded from the peer streams and handed to the loop.</summary>
    ReplicationReceive,

    /// <summary>The raft log's synced write of each Ready's entries and hard state.</summary>
    LogPersist,

    /// <summary>The ledger state machine executing blocks (parse, accounts, receipts), state root excepted.</summary>
    Apply,

    /// <summary>The state root and block hash of each applied block.</summary>
    StateRoot,

    /// <summary>Block, receipt and transaction-index records put into the apply batch.</summary>
    Index,

    /// <summary>The apply batch written to the database (state, blocks, index, applied index).</summary>
    StoreWrite,

    /// <summary>Carbon metering: readings, records, the carbon section of blocks.</summary>
    Carbon,

    /// <summary>Answering the waiting calls of committed transactions, mempool nonce updates, the block feed.</summary>
    Completion,

    /// <summary>The rest of each consensus-loop round: reads, snapshots, membership, the published node snapshot.</summary>
    LoopOther,
}
