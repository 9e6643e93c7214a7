using System.Diagnostics;
using System.Runtime.InteropServices;
using Aurigraph.Node.Diagnostics;
using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Ledger;

public sealed partial class LedgerState
{
    /// <summary>
    /// One block's working set: every record the block touches, read once from the state (which does not change while
    /// the block runs), changed in place by the transactions in block order, then committed: the accumulator loses each
    /// changed record's value from before the block and gains its final value, and the state takes the final values.
    /// Reused from block to block (cleared, not reallocated), so a block allocates only what it hands out: its writes.
    /// </summary>
    private sealed class BlockExecution(LedgerState state)
    {
        private readonly Dictionary<AccountKey, int> _slotOf = [];
        private readonly Dictionary<ByteKey, int> _oddSlotOf = [];
        private readonly Dictionary<ByteKey, int> _valueSlotOf = [];
        private AccountSlot[] _accounts = new AccountSlot[64];
        private int _accountCount;
        private int _writtenAccounts;
        private ValueSlot[] _values = new ValueSlot[8];
        private int _valueCount;

        /// <summary>An account as the block sees it: its value before the block (if it existed) and now.</summary>
        private struct AccountSlot
        {
            public AccountKey Key;
            public byte[]? OddId; // the id when it is not 32 bytes (Key unused then)
            public bool Existed;
            public bool Written;
            public ulong BeforeBalance;
            public ulong BeforeNonce;
            public ulong Balance;
            public ulong Nonce;
        }

        /// <summary>A key/value record the block puts: its value before the block (null if none) and its final value.</summary>
        private struct ValueSlot
        {
            public byte[] OwnedKey;
            public byte[]? Before;
            public byte[] Value;
        }

        /// <summary>Runs one transaction whose body parsed and names this chain; the caller has recorded its sender.</summary>
        public ReceiptRecord Run(ReadOnlySpan<byte> body, in TransactionBodyFields fields)
        {
            var senderId = fields.Sender(body);
            var sender = SlotOf(senderId);
            var (balance, nonce) = (_accounts[sender].Balance, _accounts[sender].Nonce);
            if (fields.Nonce != nonce)
            {
                return new ReceiptRecord(false, $"bad nonce: expected {nonce}, got {fields.Nonce}");
            }
            switch (fields.Operation)
            {
                case BodyOperation.Transfer:
                    {
                        var amount = fields.Amount;
                        if (balance < amount)
                        {
                            // The nonce is consumed: the failed transaction is part of the block.
                            Set(sender, balance, nonce + 1);
                            return ReceiptRecord.InsufficientBalance;
                        }
                        var to = SlotOf(fields.To(body));
                        if (to == sender)
                        {
                            Set(sender, balance, nonce + 1);
                            return ReceiptRecord.Ok;
                        }
                        var (toBalance, toNonce) = (_accounts[to].Balance, _accounts[to].Nonce);
                        if (ulong.MaxValue - toBalance < amount)
                        {
                            Set(sender, balance, nonce + 1);
                            return ReceiptRecord.RecipientOverflow;
                        }
                        Set(sender, balance - amount, nonce + 1);
                        Set(to, toBalance + amount, toNonce);
                        return ReceiptRecord.Ok;
                    }
                case BodyOperation.Put:
                    Set(sender, balance, nonce + 1);
                    if (senderId.Length != TransactionVerifier.PublicKeySize)
                    {
                        // Admission refuses such senders; a block is applied as committed, so decide it here too.
                        return ReceiptRecord.PutNeedsAccountSender;
                    }
                    Put(OwnedKey(senderId, fields.PutKey(body)), fields.PutValue(body).ToArray());
                    return ReceiptRecord.Ok;
                default:
                    return ReceiptRecord.NoOperation;
            }
        }

        /// <summary>
        /// Ends the block: moves the accumulator from the touched records' old values to their final values (on
        /// several threads when <paramref name="parallel"/> and there are many), stores the final values in the state
        /// and returns them as the block's writes; the working set is cleared for the next block.
        /// </summary>
        public StateWriteSet Commit(bool parallel)
        {
            var accountWrites = new AccountWrite[_writtenAccounts];
            var w = 0;
            for (var i = 0; i < _accountCount; i++)
            {
                ref readonly var a = ref _accounts[i];
                if (a.Written && !a.Existed)
                {
                    state.AccountCount++;
                }
                if (a.Written)
                {
                    accountWrites[w++] = new AccountWrite(a.Key, a.OddId, a.Balance, a.Nonce);
                }
            }
            Debug.Assert(w == _writtenAccounts, "every written slot counted once");
            var valueWrites = new ValueWrite[_valueCount];
            for (var i = 0; i < _valueCount; i++)
            {
                valueWrites[i] = new ValueWrite(_values[i].OwnedKey, _values[i].Value);
            }

            var records = _accountCount + _valueCount;
            if (parallel && state.MaxApplyParallelism > 1 && records >= Math.Max(1, state.ParallelApplyThreshold))
            {
                var chunks = Math.Min(records, state.MaxApplyParallelism * 4);
                var partial = new StateAccumulator[chunks];
                state.Stages.For(chunks, new ParallelOptions { MaxDegreeOfParallelism = state.MaxApplyParallelism }, PipelineStage.Apply, c =>
                {
                    var sum = new StateAccumulator();
                    Accumulate(sum, (int)((long)records * c / chunks), (int)((long)records * (c + 1) / chunks));
                    partial[c] = sum;
                });
                foreach (var sum in partial)
                {
                    state._accumulator.Add(sum);
                }
            }
            else
            {
                Accumulate(state._accumulator, 0, records);
            }

            foreach (var a in accountWrites)
            {
                if (a.OddId is null)
                {
                    state._accounts.Set(a.Key, (a.Balance, a.Nonce));
                }
                else
                {
                    lock (state._oddAccounts) // the consensus loop reads accounts (TryAccount) while this thread applies
                    {
                        state._oddAccounts[new ByteKey(a.OddId)] = (a.Balance, a.Nonce);
                    }
                }
            }
            foreach (var v in valueWrites)
            {
                state._values.Set(new ByteKey(v.OwnedKey), v.Value);
            }
            Clear();
            return new StateWriteSet(accountWrites, accountWrites.Length, valueWrites, valueWrites.Length);
        }

        /// <summary>Adds the changes of touched records [from, to) (accounts first, then values) to <paramref name="sum"/>.</summary>
        private void Accumulate(StateAccumulator sum, int from, int to)
        {
            Span<byte> id = stackalloc byte[AccountKey.Size];
            Span<byte> value = stackalloc byte[16];
            for (var r = from; r < to; r++)
            {
                if (r < _accountCount)
                {
                    ref readonly var a = ref _accounts[r];
                    if (!a.Written)
                    {
                        continue;
                    }
                    a.Key.WriteTo(id);
                    var key = a.OddId is null ? id : a.OddId;
                    if (a.Existed)
                    {
                        StateWriteSet.EncodeAccount(a.BeforeBalance, a.BeforeNonce, value);
                        sum.Remove(AccountPrefix, key, value);
                    }
                    StateWriteSet.EncodeAccount(a.Balance, a.Nonce, value);
                    sum.Add(AccountPrefix, key, value);
                }
                else
                {
                    ref readonly var v = ref _values[r - _accountCount];
                    if (v.Before is not null)
                    {
                        sum.Remove(KeyValuePrefix, v.OwnedKey, v.Before);
                    }
                    sum.Add(KeyValuePrefix, v.OwnedKey, v.Value);
                }
            }
        }

        private void Clear()
        {
            _slotOf.Clear();
            _oddSlotOf.Clear();
            _valueSlotOf.Clear();
            Array.Clear(_accounts, 0, _accountCount);
            Array.Clear(_values, 0, _valueCount);
            _accountCount = 0;
            _writtenAccounts = 0;
            _valueCount = 0;
        }

        /// <summary>The slot of account <paramref name="id"/>, read from the state (the source, on a miss) the first time the block touches it.</summary>
        private int SlotOf(ReadOnlySpan<byte> id)
        {
            if (id.Length == AccountKey.Size)
            {
                var key = new AccountKey(id);
                ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_slotOf, key, out var exists);
                if (!exists)
                {
                    var existed = state._accounts.TryGet(key, out var account);
                    slot = NewSlot(key, null, existed, account);
                }
                return slot;
            }
            var odd = new ByteKey(id.ToArray());
            ref var oddSlot = ref CollectionsMarshal.GetValueRefOrAddDefault(_oddSlotOf, odd, out var oddExists);
            if (!oddExists)
            {
                var existed = state._oddAccounts.TryGetValue(odd, out var account);
                oddSlot = NewSlot(default, odd.Bytes, existed, account);
            }
            return oddSlot;
        }

        private int NewSlot(AccountKey key, byte[]? oddId, bool existed, (ulong Balance, ulong Nonce) account)
        {
            if (_accountCount == _accounts.Length)
            {
                Array.Resize(ref _accounts, _accounts.Length * 2);
            }
            // An account that does not exist reads as (0, 0) until a transaction writes it.
            _accounts[_accountCount] = new AccountSlot
            {
                Key = key,
                OddId = oddId,
                Existed = existed,
                BeforeBalance = account.Balance,
                BeforeNonce = account.Nonce,
                Balance = account.Balance,
                Nonce = account.Nonce,
            };
            return _accountCount++;
        }

        private void Set(int slot, ulong balance, ulong nonce)
        {
            ref var a = ref _accounts[slot];
            if (!a.Written)
            {
                a.Written = true;
                _writtenAccounts++;
            }
            a.Balance = balance;
            a.Nonce = nonce;
        }

        private void Put(byte[] ownedKey, byte[] value)
        {
            var key = new ByteKey(ownedKey);
            ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_valueSlotOf, key, out var exists);
            if (exists)
            {
                _values[slot].Value = value;
                return;
            }
            if (_valueCount == _values.Length)
            {
                Array.Resize(ref _values, _values.Length * 2);
            }
            _values[_valueCount] = new ValueSlot { OwnedKey = ownedKey, Before = state._values.Get(key), Value = value };
            slot = _valueCount++;
        }
    }
}
