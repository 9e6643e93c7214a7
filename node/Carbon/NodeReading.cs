namespace Aurigraph.Node.Carbon;

/// <summary>
/// What one node metered for one unit of work (for example one block height): the input of <see cref="EnergyModel"/>.
/// </summary>
public sealed record NodeReading
{
    /// <summary>vCPU-seconds of process CPU time consumed (user + system, summed over threads).</summary>
    public double CpuSeconds { get; init; }

    /// <summary>
    /// Average CPU utilisation of the node's vCPUs over the interval, 0–1; it picks the point on the idle-to-max power curve.
    /// Values outside [0, 1] are clamped.
    /// </summary>
    public double CpuUtilization { get; init; }

    /// <summary>Memory held, in GB × seconds (resident GB multiplied by the seconds it was held).</summary>
    public double MemoryGbSeconds { get; init; }

    /// <summary>Peer-transport bytes this node sent, every copy to every peer counted (a block sent to 3 followers counts 3 times).</summary>
    public long BytesSent { get; init; }

    /// <summary>Peer-transport bytes this node received (charged only when <see cref="EnergyModelOptions.CountReceivedBytes"/> is set).</summary>
    public long BytesReceived { get; init; }

    /// <summary>Bytes clients sent to this node (transaction submissions).</summary>
    public long IngressBytes { get; init; }

    /// <summary>Bytes this node wrote to durable storage.</summary>
    public long BytesStored { get; init; }

    /// <summary>Copies the storage layer keeps of each stored byte (e.g. 2 for a replicated cloud volume). At least 1.</summary>
    public int StorageReplicas { get; init; } = 1;

    /// <summary>Consensus rounds (AppendEntries round trips, election rounds).</summary>
    public long ConsensusRounds { get; init; }

    /// <summary>Voting members taking part in each round.</summary>
    public int Validators { get; init; }

    /// <summary>
    /// Wall-clock seconds the interval covers: the time the provisioned processors and the retained bytes are charged
    /// for (model 2), and the time share of embodied emissions.
    /// </summary>
    public double IntervalSeconds { get; init; }

    /// <summary>vCPUs provisioned for the node (model 2 charges their power curve for all of <see cref="IntervalSeconds"/>, idle included).</summary>
    public double ProvisionedVcpus { get; init; }

    /// <summary>Bytes the node keeps on durable storage when the interval closed (model 2 charges them for <see cref="IntervalSeconds"/>).</summary>
    public long RetainedBytes { get; init; }

    /// <summary>The node's cloud.</summary>
    public CloudProvider Cloud { get; init; }

    /// <summary>The node's cloud region (used by the caller to pick the grid intensity).</summary>
    public string Region { get; init; } = "";
}
