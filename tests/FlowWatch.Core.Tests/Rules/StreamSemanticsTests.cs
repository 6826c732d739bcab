using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;

namespace FlowWatch.Core.Tests.Rules;

/// <summary>
/// What the stream does around the rules (RULES.md §1, §2, DESIGN.md §4, SEMANTICS.md): duplicates, late and
/// out-of-order events, deterministic alert ids and the order of alerts.
/// </summary>
public sealed class StreamSemanticsTests
{
    private static readonly DateTimeOffset Dormant = new(2025, 1, 1, 0, 0, 0, TimeSpan.FromHours(8));

    private static ReferenceBuilder Reference() => TestStreams.Reference()
        .Entity("C1").Entity("Q1", equity: 10_000_000m).Entity("D1", lastActivity: Dormant);

    private static TestStream Stream() => Reference().Stream();

    private static EventBuilder At(TimeSpan offset, decimal amount = 100m, string entity = "C1") =>
        TestStreams.Event().Entity(entity).Amount(amount).At(TestStreams.T0 + offset);

    private static TimeSpan M(double minutes) => TimeSpan.FromMinutes(minutes);

    // ---- Duplicates ----

    [Fact]
    public void Duplicate_SameTxnIdAgain_IsIgnoredWithoutStateChange()
    {
        var stream = Stream();

        var first = stream.Send(At(M(0), 1_500_000m).Id("X1"));
        var duplicate = stream.Send(At(M(0), 1_500_000m).Id("X1"));
        var below = stream.Send(At(M(2), 499_999.99m).Id("X2"));
        var at = stream.Send(At(M(3), 0.01m).Id("X3"));

        Assert.Equal(RecordOutcome.Accepted, first.Outcome);
        Assert.Equal(RecordOutcome.Duplicate, duplicate.Outcome);
        Assert.Null(duplicate.Reason);
        Assert.Empty(duplicate.Alerts);
        Assert.Equal(1, stream.Engine.Counters.Duplicates);
        Assert.Equal(0, stream.Engine.Counters.DifferingDuplicates);
        Assert.Equal(3, stream.Entity("C1").Events);
        below.AssertNotRaised("LARGE_VALUE_REPORT");                                  // the duplicate added nothing
        Assert.Equal(2_000_000m, at.Single("LARGE_VALUE_REPORT").Metrics.Observed);
    }

    [Fact]
    public void Duplicate_OfAnAlertingEvent_RaisesNothing()
    {
        var stream = Stream();

        var first = stream.Send(At(M(0)).Id("X1").CpCountry("KP"));
        var duplicate = stream.Send(At(M(0)).Id("X1").CpCountry("KP"));

        first.AssertRaised("HIGH_RISK_JURISDICTION");
        Assert.Equal(RecordOutcome.Duplicate, duplicate.Outcome);
        Assert.Empty(duplicate.Alerts);
        Assert.Equal(1, stream.Engine.Counters.Alerts);
    }

    [Fact]
    public void Duplicate_WithDifferentContent_DoesNotMoveThePenetrationPosition()
    {
        var stream = Stream();
        EventBuilder SameName(string id, decimal amount) => At(M(0), amount, "Q1").Id(id).Out().Cp("DOMESTIC", entityId: "Q1");

        stream.Send(SameName("P1", 7_000_000m));
        var duplicate = stream.Send(SameName("P1", 9_000_000m));
        var next = stream.Send(SameName("P2", 999_999.99m));

        Assert.Equal(RecordOutcome.DifferingDuplicate, duplicate.Outcome);
        Assert.Equal("txnId P1 was accepted before with other content; ignored as a duplicate", duplicate.Reason);
        Assert.Equal(1, stream.Engine.Counters.Duplicates);
        Assert.Equal(1, stream.Engine.Counters.DifferingDuplicates);
        Assert.Empty(duplicate.Alerts);
        Assert.Equal(7_999_999.99m, stream.Entity("Q1").PenetrationNetInflow(2026));
        Assert.Empty(next.Alerts);   // still below 0.8
    }

    [Fact]
    public void Duplicate_WithLaterTime_DoesNotUpdateLastActivity()
    {
        var stream = Stream();

        stream.Send(TestStreams.Event("A1").Entity("D1").At(Dormant.AddDays(10)));
        var duplicate = stream.Send(TestStreams.Event("A1").Entity("D1").At(Dormant.AddDays(400)));
        var reactivation = stream.Send(TestStreams.Event("A2").Entity("D1").Amount(500_000m).At(Dormant.AddDays(190)));

        Assert.Equal(RecordOutcome.DifferingDuplicate, duplicate.Outcome);
        Assert.Equal(180m, reactivation.Single("DORMANT_REACTIVATION").Metrics.DaysSincePreviousActivity);
    }

    [Fact]
    public void Duplicate_RepeatAfterTwoMonthsOfNewerEvents_IsStillIgnored()
    {
        var stream = Stream();

        stream.Send(At(M(0)).Id("OLD-1").CpCountry("KP"));
        stream.Send(At(TimeSpan.FromDays(60)).Id("NEW-1"));
        var repeat = stream.Send(At(M(0)).Id("OLD-1").CpCountry("KP"));

        Assert.Equal(RecordOutcome.Duplicate, repeat.Outcome);
        Assert.Empty(repeat.Alerts);
    }

    [Fact]
    public void Duplicate_RejectedRecord_DoesNotReserveItsTxnId()
    {
        var stream = Stream();

        var rejected = stream.Send(At(M(0)).Id("R1").Amount(100m, "XXX"));
        var accepted = stream.Send(At(M(0)).Id("R1"));

        Assert.Equal(RecordOutcome.Rejected, rejected.Outcome);
        Assert.Equal(RecordOutcome.Accepted, accepted.Outcome);
        Assert.Equal(0, stream.Engine.Counters.Duplicates);
        Assert.Equal(1, stream.Engine.Counters.DeadLetters);
    }

    /// <summary>A repeat that no longer resolves is a duplicate still, and one that says something else a differing one.</summary>
    [Theory]
    [InlineData("100", RecordOutcome.Duplicate)]
    [InlineData("900000", RecordOutcome.DifferingDuplicate)]
    public void Duplicate_RepeatThatNoLongerResolves_IsADuplicateNotADeadLetter(string amount, RecordOutcome expected)
    {
        var stream = Stream();
        stream.Send(At(M(0)).Id("X1").Amount(100m, "HKD"));
        stream.Engine.UpdateReference(ReferenceDataLoader.Parse(System.Text.Encoding.UTF8.GetBytes(
            """{"fxRates":{"USD":"7.10"},"entities":[{"entityId":"C1","type":"CORPORATE"}]}""")));   // HKD gone

        var repeat = stream.Send(At(M(0)).Id("X1").Amount(decimal.Parse(amount, System.Globalization.CultureInfo.InvariantCulture), "HKD"));
        var fresh = stream.Send(At(M(1)).Id("X2").Amount(100m, "HKD"));

        Assert.Equal(expected, repeat.Outcome);
        Assert.Equal(RecordOutcome.Rejected, fresh.Outcome);
        Assert.Equal(1, stream.Engine.Counters.Duplicates);
        Assert.Equal(1, stream.Engine.Counters.DeadLetters);
    }

    [Fact]
    public void Duplicate_SamePaymentWrittenOtherwise_IsARedelivery()
    {
        var stream = Stream();
        stream.Send("""{"txnId":"X1","ts":"2026-03-02T10:00:00+08:00","account":"EFE-C1","entityId":"C1","direction":"IN","amount":"100.50","currency":"CNY","cpKind":"OFFSHORE","cpCountry":"HK","purpose":"GOODS_TRADE","bank":"B1"}""");

        // Other field order, the time in UTC, the amount without its trailing zero and as a number, the purpose in
        // lower case with a hyphen, the method and customsSpecial given as their defaults, a field unknown to DESIGN.md §3.1.
        var repeat = stream.Send("""{ "bank":"B1", "amount":100.5, "currency":"CNY", "txnId":"X1", "ts":"2026-03-02T02:00:00.000Z", "account":"EFE-C1", "entityId":"C1", "direction":"IN", "cpKind":"OFFSHORE", "cpCountry":"HK", "purpose":"goods-trade", "method":"TRANSFER", "customsSpecial":false, "note":"retry" }""");

        Assert.Equal(RecordOutcome.Duplicate, repeat.Outcome);
        Assert.Null(repeat.Reason);
        Assert.Equal(0, stream.Engine.Counters.DifferingDuplicates);
    }

    public static TheoryData<string, string> OneFieldChanged() => new()
    {
        { "amount", "100.51" },
        { "amount", "100.49" },
        { "ts", "2026-03-02T10:00:00.0000001+08:00" },
        { "account", "EFE-C2" },
        { "accountKind", "EFE" },
        { "entityId", "C2" },
        { "direction", "OUT" },
        { "currency", "HKD" },
        { "cpKind", "DOMESTIC" },
        { "cpAccount", "HK-1" },
        { "cpEntityId", "C2" },
        { "cpName", "Blue Lotus" },
        { "cpCountry", "MO" },
        { "purpose", "SERVICE_TRADE" },
        { "method", "CASH" },
        { "customsSpecial", "true" },
        { "bank", "B2" },
    };

    [Theory]
    [MemberData(nameof(OneFieldChanged))]
    public void Duplicate_WithOneFieldChanged_DiffersAndIsStillIgnored(string field, string value)
    {
        var stream = Reference().Entity("C2").Stream();
        var first = TestStreams.Event("X1").Entity("C1").Amount(100.5m).CpCountry("HK");
        stream.Send(first.With("bank", "B1"));
        var changed = field is "amount" or "customsSpecial" ? first.WithRaw(field, value) : first.With(field, value);
        var positionBefore = stream.Entity("C1").Events;

        var repeat = stream.Send(changed.With("bank", field == "bank" ? value : "B1"));

        Assert.Equal(RecordOutcome.DifferingDuplicate, repeat.Outcome);
        Assert.Empty(repeat.Alerts);
        Assert.Equal(positionBefore, stream.Entity("C1").Events);
        Assert.Equal((1, 1), (stream.Engine.Counters.Duplicates, stream.Engine.Counters.DifferingDuplicates));
    }

    [Fact]
    public void Duplicate_AfterTheReferenceDataGaveTheAccountAnotherOwner_IsStillARedelivery()
    {
        var reference = Reference().Entity("C2").Account("EFE-X", "EFE", "C1");
        var stream = reference.Stream();
        var payment = TestStreams.Event("X1").Entity(null).Account("EFE-X");
        Assert.Equal(RecordOutcome.Accepted, stream.Send(payment).Outcome);
        stream.Engine.UpdateReference(Reference().Entity("C2").Account("EFE-X", "EFE", "C2").Build());

        var repeat = stream.Send(payment);

        Assert.Equal(RecordOutcome.Duplicate, repeat.Outcome);   // printed as written, before the reference data resolves it
    }

    [Fact]
    public void Duplicate_ThatDiffers_IsToldApartAfterARestore()
    {
        var stream = Stream();
        stream.Engine.TrackChanges();
        stream.Send(At(M(0)).Id("X1"));
        var entities = new List<EntityState>();
        var ids = new List<TxnIdRecord>();
        stream.Engine.TakeChanges(entities, ids);
        var restored = Reference().Stream();
        foreach (var id in StateCodec.DecodeTxnIds(StateCodec.Encode(ids.ToArray()))) restored.Engine.Restore(id);

        Assert.Equal(RecordOutcome.Duplicate, restored.Send(At(M(0)).Id("X1")).Outcome);
        Assert.Equal(RecordOutcome.DifferingDuplicate, restored.Send(At(M(0), 200m).Id("X1")).Outcome);
    }

    // ---- Fields the event contract does not define ----

    [Fact]
    public void UnknownFields_OfPayments_AreCountedAndTheirNamesKeptOnceEach()
    {
        var stream = Stream();

        stream.Send(At(M(0)).Id("U1").WithRaw("metod", "\"CASH\""));
        stream.Send(At(M(1)).Id("U2").WithRaw("metod", "\"CASH\"").WithRaw("note", "1"));
        stream.Send(At(M(2)).Id("U3"));
        stream.Send(At(M(3)).Id("U4").Account("NOWHERE").Entity(null).WithRaw("remark", "null"));   // refused by resolution, still a payment
        stream.Send(At(M(4)).Id("U5").Amount(100m, "usd").WithRaw("extra", "1"));                      // refused by the decoder: not a payment
        stream.Parameters(TestStreams.T0, "\"macroPrudentialFactor\":1,\"factor\":2");              // a control record's fields are its parser's

        Assert.Equal(3, stream.Engine.Counters.UnknownFields);
        Assert.Equal([new UnknownField("metod", 1), new("note", 2), new("remark", 4)], stream.Engine.UnknownFields);
    }

    [Fact]
    public void UnknownFields_ManyNames_KeepsTheFirst32()
    {
        var stream = Stream();

        for (var i = 0; i < 40; i++) stream.Send(At(M(i)).Id($"U{i}").WithRaw($"field{i}", "1"));

        Assert.Equal(40, stream.Engine.Counters.UnknownFields);
        Assert.Equal(Enumerable.Range(0, 32).Select(i => $"field{i}"), stream.Engine.UnknownFields.Select(field => field.Name));
    }

    [Fact]
    public void UnknownFields_AMisspeltFieldAfterAProducersOwnFields_IsNamedToo()
    {
        var stream = Stream();

        stream.Send(At(M(0)).Id("U1").WithRaw("source", "1").WithRaw("schema", "2").WithRaw("traceId", "3").WithRaw("producer", "4")
            .WithRaw("batch", "5").WithRaw("metod", "\"CASH\""));

        Assert.Equal(["source", "schema", "traceId", "producer", "batch", "metod"], stream.Engine.UnknownFields.Select(field => field.Name));
    }

    /// <summary>A name is said in the log: a line separator in it (valid JSON as it is) would start a forged line there.</summary>
    [Fact]
    public void UnknownFields_ANameWithALineSeparatorOrADirectionOverride_IsKeptWithTheirCodes()
    {
        var stream = Stream();

        stream.Send(At(M(0)).Id("U1").WithRaw("x\u2028warn: forged", "1").WithRaw("\u202Edrow", "2"));

        Assert.Equal([@"x\u2028warn: forged", @"\u202Edrow"], stream.Engine.UnknownFields.Select(field => field.Name));
    }

    [Fact]
    public void UnknownFields_ALongName_IsKeptByItsFirst64BytesAndNamesSharingThemAreOne()
    {
        var stream = Stream();
        var name = new string('x', 64);

        stream.Send(At(M(0)).Id("U1").WithRaw(name + "-a", "1"));
        stream.Send(At(M(1)).Id("U2").WithRaw(name + "-b", "1"));
        stream.Send(At(M(2)).Id("U3").WithRaw(name[..63], "1"));

        Assert.Equal([name + "…", name[..63]], stream.Engine.UnknownFields.Select(field => field.Name));
    }

    [Fact]
    public void UnknownFields_ALongNameOfWideCharacters_IsCutBetweenCharacters()
    {
        var stream = Stream();
        var name = "xx" + new string('备', 30);   // 2 + 90 bytes: bytes 62–64 are the 21st character

        stream.Send(At(M(0)).Id("U1").WithRaw(name, "1"));

        Assert.Equal("xx" + new string('备', 20) + "…", Assert.Single(stream.Engine.UnknownFields).Name);
    }

    /// <summary>A name is said as the text its JSON escapes stand for, as a string field's value is read.</summary>
    [Fact]
    public void UnknownFields_ANameWithEscapes_IsSaidAsTheTextTheyStandFor()
    {
        var stream = Stream();

        stream.Send(At(M(0)).Id("U1").WithRaw("a\"b\\c", "1"));

        Assert.Equal(@"a""b\\c", Assert.Single(stream.Engine.UnknownFields).Name);
    }

    [Fact]
    public void UnknownFields_ALongNameOfEscapes_IsCutBetweenEscapes()
    {
        var stream = Stream();
        var name = "x" + new string('\u2028', 20);   // written x\u2028\u2028…: 1 + 120 bytes, the 11th escape ends at byte 67

        stream.Send(At(M(0)).Id("U1").WithRaw(name, "1"));

        Assert.Equal("x" + string.Concat(Enumerable.Repeat(@"\u2028", 10)) + "…", Assert.Single(stream.Engine.UnknownFields).Name);
    }

    [Fact]
    public void UnknownFields_ALongNameOfCharactersBeyondUPlusFFFF_IsCutBetweenSurrogatePairs()
    {
        var stream = Stream();
        var name = "abcdefg" + string.Concat(Enumerable.Repeat("\U0001F600", 5));   // written abcdefg\uD83D\uDE00…: 7 + 60 bytes

        stream.Send(At(M(0)).Id("U1").WithRaw(name, "1"));

        Assert.Equal("abcdefg" + string.Concat(Enumerable.Repeat("\U0001F600", 4)) + "…", Assert.Single(stream.Engine.UnknownFields).Name);
    }

    [Fact]
    public void UnknownFields_OneNameWrittenWithOtherEscapes_IsKeptOnce()
    {
        var stream = Stream();

        stream.Send(At(M(0)).Id("U1").WithRaw("abc", "1"));
        var written = At(M(1)).Id("U2").ToJson();
        stream.Send(written[..^1] + ",\"\\u0061bc\":1}");   // the name written with an escape

        Assert.Equal(["abc"], stream.Engine.UnknownFields.Select(field => field.Name));
    }

    [Fact]
    public void Summary_OfUnknownFields_SaysHowManyAndWhich()
    {
        var stream = Stream();
        stream.Send(At(M(0)).Id("U1").WithRaw("metod", "\"CASH\""));
        var output = new StringWriter();

        FlowWatch.Worker.Cli.Summary.Print(output, "replay", stream.Engine.Counters, elapsed: null, new([.. stream.Engine.UnknownFields.Select(field => field.Name)], []));

        Assert.Contains("  payments with fields the event contract does not define, passed over       1: metod", output.ToString().Split(Environment.NewLine));
    }

    [Fact]
    public void Record_WithAUtf8ByteOrderMark_IsProcessedLikeWithout()
    {
        var stream = Stream();
        var json = At(M(0), 2_000_000m).Id("B1").ToJson();

        var result = stream.Engine.Process([0xEF, 0xBB, 0xBF, .. System.Text.Encoding.UTF8.GetBytes(json)], 1, [], out var reason);

        Assert.Equal(RecordOutcome.Accepted, result);
        Assert.Null(reason);
        Assert.Equal(1, stream.Entity("C1").Events);
    }

    [Fact]
    public void Record_TheEngineFailsOn_IsADeadLetterNamingTheFailureAndTheStreamGoesOn()
    {
        var stream = Stream();
        // The observer sees an event's features after its exact rules ran and before the models score it.
        stream.Engine.Shards[0].Observer = (in PaymentEvent e, ReadOnlySpan<float> _) =>
        {
            if (e.TxnId == "F1") throw new InvalidOperationException("observer broke");
        };

        var failed = stream.Send(At(M(0), 2_000_000m).Id("F1"));
        var next = stream.Send(At(M(1), 2_000_000m).Id("F2"));

        Assert.Equal(RecordOutcome.Rejected, failed.Outcome);
        Assert.Equal("engine failure: InvalidOperationException: observer broke", failed.Reason);
        Assert.Equal(["LARGE_VALUE_REPORT"], failed.Rules);   // what it did before the failure stands
        Assert.Equal(RecordOutcome.Accepted, next.Outcome);
        next.AssertNotRaised("LARGE_VALUE_REPORT");           // the day's accumulator already holds F1
        var counters = stream.Engine.Counters;
        Assert.Equal((2L, 1L, 1L, 1L, 1L), (counters.Read, counters.Accepted, counters.DeadLetters, counters.Failures, counters.Alerts));
        // Each record read falls in one category: the failed one is a dead letter, not also an accepted event.
        Assert.Equal(counters.Read, counters.Accepted + counters.Duplicates + counters.DeadLetters + counters.ControlRecords);
    }

    // ---- The calendar's ends ----

    [Theory]
    [InlineData("2105-12-31T23:59:59.9999999+08:00", true)]    // the last instant
    [InlineData("2106-01-01T00:00:00+08:00", false)]
    [InlineData("9999-12-31T20:00:00Z", false)]                // 10000-01-01 in Shanghai
    [InlineData("1970-01-01T00:00:00Z", true)]                 // the first instant
    [InlineData("1969-12-31T23:59:59.9999999Z", false)]
    [InlineData("1970-01-01T07:59:59.9999999+08:00", false)]   // 1970-01-01 in Shanghai, before the first instant
    [InlineData("0001-01-01T00:00:00Z", false)]
    public void Timestamp_AtTheCalendarsEnds_IsProcessedOrDeadLettered(string ts, bool accepted)
    {
        var stream = Stream();

        // A same-name transfer over the cap and a large value: the rules that name the Shanghai year and day.
        var result = stream.Send(TestStreams.Event().Account("EFE0001").Entity("Q1").Out().Amount(12_500_000m)
            .Cp("DOMESTIC", entityId: "Q1").At(ts));

        Assert.Equal(accepted ? RecordOutcome.Accepted : RecordOutcome.Rejected, result.Outcome);
        if (accepted)
        {
            result.AssertRaised("PENETRATION_CAP_BREACH");
            result.AssertRaised("LARGE_VALUE_REPORT");
        }
        else
        {
            Assert.StartsWith("ts:", result.Reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Timestamp_OnTheFirstShanghaiDayBeforeTheEpoch_NamesTheExactBoundInTheReason()
    {
        var stream = Stream();

        // 05:00 in Shanghai on 1970-01-01 is 1969-12-31T21:00Z: the day is 1970-01-01, the instant is before the span.
        var result = stream.Send(TestStreams.Event().Account("EFE0001").Entity("Q1").Amount(1_000m).At("1970-01-01T05:00:00+08:00"));

        Assert.Equal(RecordOutcome.Rejected, result.Outcome);
        Assert.Equal("ts: outside 1970-01-01T00:00:00Z to 2105-12-31T23:59:59.9999999+08:00, the span FlowWatch's "
            + "calendar and aggregate tables hold", result.Reason);
    }

    // ---- Events dated after their record was published (beyond an hour) ----

    [Theory]
    [InlineData(-1, true)]
    [InlineData(0, true)]
    [InlineData(1, false)]
    public void FromTheFuture_AnHourAfterPublication_IsAcceptedAndATickMoreIsADeadLetter(long ticksBeyondTheBound, bool accepted)
    {
        var stream = Stream();
        var published = TestStreams.T0;

        var result = stream.Send(At(TimeSpan.FromHours(1) + TimeSpan.FromTicks(ticksBeyondTheBound)), published);

        Assert.Equal(accepted ? RecordOutcome.Accepted : RecordOutcome.Rejected, result.Outcome);
        Assert.Equal(accepted ? 0 : 1, stream.Engine.Counters.DeadLetters);
        if (!accepted)
        {
            Assert.Equal("ts: 2026-03-02T03:00:00.0000001Z is more than FlowWatch:Rules:FutureEventBound (01:00:00) after the record was " +
                         "published (2026-03-02T02:00:00.0000000Z)", result.Reason);
            Assert.Null(stream.Engine.FindEntity("C1"));
        }
    }

    [Fact]
    public void FromTheFuture_WithoutAPublicationTime_IsAccepted()
    {
        var stream = Stream();

        var result = stream.Send(At(TimeSpan.FromDays(365 * 70)));

        Assert.Equal(RecordOutcome.Accepted, result.Outcome);
    }

    [Fact]
    public void FromTheFuture_WithABoundOfItsOwn_IsJudgedByIt()
    {
        var stream = Reference().Stream(new RuleSettings { FutureEventBound = TimeSpan.Zero });

        var onTime = stream.Send(At(M(0)), TestStreams.T0);
        var aTickAhead = stream.Send(At(M(0) + TimeSpan.FromTicks(1)), TestStreams.T0);

        Assert.Equal(RecordOutcome.Accepted, onTime.Outcome);
        Assert.Equal(RecordOutcome.Rejected, aTickAhead.Outcome);
    }

    [Fact]
    public void FromTheFuture_RepeatOfAnAcceptedPayment_IsADuplicate()
    {
        var stream = Stream();

        stream.Send(At(M(0)).Id("P1"), TestStreams.T0);
        var repeat = stream.Send(At(TimeSpan.FromDays(400)).Id("P1"), TestStreams.T0);

        Assert.Equal(RecordOutcome.DifferingDuplicate, repeat.Outcome);
        Assert.Equal(0, stream.Engine.Counters.DeadLetters);
    }

    [Fact]
    public void FromTheFuture_ProcessedAgainAfterARestore_IsJudgedByItsPublicationAsTheFirstTime()
    {
        var stream = Stream();
        var line = System.Text.Encoding.UTF8.GetBytes(At(TimeSpan.FromHours(2)).Id("P1").ToJson());

        var outcome = stream.Engine.Reprocess(line, 1, TestStreams.T0, []);

        Assert.Equal(RecordOutcome.Rejected, outcome);
        Assert.Null(stream.Engine.FindEntity("C1"));
    }

    [Fact]
    public void FromTheFuture_EventRefused_LeavesTheEntitysWindowsWorking()
    {
        // Accepted, an event dated decades ahead would make every later event of its entity late, and its window rules
        // silent until the calendar caught up.
        var stream = Stream();
        var published = TestStreams.T0 + M(30);

        var results = stream.SendAll([At(M(10), 1_800_000m), At(M(11), 1_800_000m)]);
        var future = stream.Send(At(TimeSpan.FromDays(365 * 70), 100m), published);
        var third = stream.Send(At(M(12), 1_800_000m), published);

        Assert.All(results, r => r.AssertNotRaised("STRUCTURING"));
        Assert.Equal(RecordOutcome.Rejected, future.Outcome);
        Assert.Equal(3, third.Single("STRUCTURING").Metrics.Count);
        Assert.Equal(0, stream.Engine.Counters.Late);
    }

    // ---- Late events (beyond 5 minutes) ----

    [Fact]
    public void Late_MoreThanFiveMinutesBehindNewest_IsCountedLate()
    {
        var stream = Stream();

        stream.Send(At(M(10)));
        var late = stream.Send(At(M(10) - M(5) - TimeSpan.FromSeconds(1)));

        Assert.Equal(RecordOutcome.Accepted, late.Outcome);
        Assert.Equal(1, stream.Engine.Counters.Late);
        Assert.Equal(1, stream.Entity("C1").LateEvents);
    }

    [Fact]
    public void Late_ExactlyFiveMinutesBehindNewest_IsNotLate()
    {
        var stream = Stream();

        stream.Send(At(M(10)));
        stream.Send(At(M(5)));

        Assert.Equal(0, stream.Engine.Counters.Late);
    }

    [Fact]
    public void Late_LatenessIsPerEntity()
    {
        var stream = Stream();

        stream.Send(At(M(60)));
        stream.Send(At(M(0), entity: "Q1"));

        Assert.Equal(0, stream.Engine.Counters.Late);
    }

    [Fact]
    public void Late_Event_ChangesThePenetrationPositionAndRaisesEventRules()
    {
        var stream = Stream();
        EventBuilder SameName(TimeSpan at, decimal amount) => At(at, amount, "Q1").Out().Cp("DOMESTIC", entityId: "Q1", country: "KP");

        stream.Send(SameName(M(60), 1_000_000m));
        var late = stream.Send(SameName(M(0), 7_000_000m));

        Assert.Equal(1, stream.Engine.Counters.Late);
        Assert.Equal(8_000_000m, late.Single("PENETRATION_CAP_WARN").Metrics.Observed);
        late.AssertRaised("HIGH_RISK_JURISDICTION");
        Assert.Equal(8_000_000m, stream.Entity("Q1").PenetrationNetInflow(2026));
    }

    [Fact]
    public void Late_InBandEvent_NeitherFiresNorEntersTheStructuringWindow()
    {
        var stream = Stream();

        var results = stream.SendAll([
            At(M(10), 1_800_000m),
            At(M(11), 1_800_000m),
            At(M(0), 1_800_000m),     // late: would be the third
            At(M(12), 1_800_000m),    // the third in the window
        ]);

        Assert.Equal(1, stream.Engine.Counters.Late);
        Assert.Equal([false, false, false, true], results.Select(r => r.Raised("STRUCTURING")).ToArray());
        Assert.Equal(3, results[3].Single("STRUCTURING").Metrics.Count);
    }

    [Fact]
    public void Late_OutEvent_DoesNotTriggerOrFeedRapidPassThrough()
    {
        var stream = Stream();

        var results = stream.SendAll([
            At(M(10), 500_000m),
            At(M(0), 450_000m).Out(),    // late
            At(M(11), 1m).Out(),         // OUT24 = 1: the late OUT is not in the window
        ]);

        Assert.All(results, r => Assert.DoesNotContain("RAPID_PASS_THROUGH", r.Rules));
    }

    [Fact]
    public void Late_TwentiethCounterparty_DoesNotTriggerOrFeedFanIn()
    {
        var stream = Stream();

        var inOrder = stream.SendAll(Enumerable.Range(1, 19).Select(i => At(M(60 + i)).CpAccount("CP" + i)));
        var late = stream.Send(At(M(0)).CpAccount("CP20"));
        var repeat = stream.Send(At(M(90)).CpAccount("CP1"));

        Assert.All(inOrder.Append(late).Append(repeat), r => Assert.DoesNotContain("FAN_IN", r.Rules));
        Assert.Equal(1, stream.Engine.Counters.Late);
    }

    // ---- Out of order within 5 minutes ----

    [Fact]
    public void OutOfOrder_WithinTheBound_SeesTheEarlierEventsOfItsWindow()
    {
        var stream = Stream();

        var results = stream.SendAll([
            At(M(0), 1_800_000m),
            At(M(1), 1_800_000m),
            At(M(10)),                 // newest, not in band
            At(M(6), 1_800_000m),      // 4 minutes behind: lands in its window with the first two
        ]);

        Assert.Equal(0, stream.Engine.Counters.Late);
        Assert.Equal(3, results[3].Single("STRUCTURING").Metrics.Count);
    }

    [Fact]
    public void OutOfOrder_EventsWithLaterTime_AreNotInItsWindow()
    {
        var stream = Stream();

        var results = stream.SendAll([
            At(M(0), 500_000m),
            At(M(10), 1_000m).Out(),
            At(M(7), 450_000m).Out(),   // its window (…, 7m] holds the IN but not the later OUT
        ]);

        var alert = results[2].Single("RAPID_PASS_THROUGH");
        Assert.Equal(450_000m, alert.Metrics.OutflowCny);
        Assert.Equal(500_000m, alert.Metrics.InflowCny);
    }

    [Fact]
    public void OutOfOrder_EventsLandInTheWindowOfLaterEvents()
    {
        var stream = Stream();

        var results = stream.SendAll([
            At(M(10), 1_800_000m),
            At(M(8), 1_800_000m),    // out of order: its window holds only itself
            At(M(6), 1_800_000m),    // out of order: likewise
            At(M(11), 1_800_000m),   // in order: all four are in its window
        ]);

        Assert.Equal([false, false, false, true], results.Select(r => r.Raised("STRUCTURING")).ToArray());
        Assert.Equal(4, results[3].Single("STRUCTURING").Metrics.Count);
    }

    [Fact]
    public void OutOfOrder_ExactlyAtTheBound_LandsInItsWindow()
    {
        var stream = Stream();

        var results = stream.SendAll([At(M(0), 1_800_000m), At(M(1), 1_800_000m), At(M(10)), At(M(5), 1_800_000m)]);

        Assert.Equal(0, stream.Engine.Counters.Late);
        results[3].AssertRaised("STRUCTURING");
    }

    [Fact]
    public void OutOfOrder_DistinctCounterpartiesLandInTheirWindow()
    {
        var stream = Stream();

        var results = stream.SendAll(Enumerable.Range(1, 19).Select(i => At(M(i)).CpAccount("CP" + i))
            .Append(At(M(16)).CpAccount("CP20")));   // 3 minutes behind CP19

        Assert.Equal(0, stream.Engine.Counters.Late);
        // Its own window (…, 16m] holds CP1..CP16 and itself: 17. Not yet 20.
        Assert.DoesNotContain("FAN_IN", results[^1].Rules);
        var next = stream.Send(At(M(20)).CpAccount("CP1"));
        Assert.Equal(20, next.Single("FAN_IN").Metrics.Count);
    }

    [Fact]
    public void OutOfOrder_EventBeforeTheFiringTime_IsStillSuppressed()
    {
        var stream = Stream();

        var results = stream.SendAll([
            At(M(0), 1_800_000m),
            At(M(1), 1_800_000m),
            At(M(10), 1_800_000m),   // fires at 10m
            At(M(7), 1_800_000m),    // 3 minutes behind: its window holds three in-band events, but the key is silent
        ]);

        Assert.Equal([false, false, true, false], results.Select(r => r.Raised("STRUCTURING")).ToArray());
        Assert.Equal(0, stream.Engine.Counters.Late);
    }

    // ---- Alerts: ids, order, identity ----

    private static IEnumerable<EventBuilder> AlertingStream() =>
    [
        At(M(0)).Id("K-1").CpCountry("KP"),
        At(M(1), 2_000_000m).Id("K-2").CpCountry("VN"),
        At(M(2)).Id("K-3").Cash(),
    ];

    [Fact]
    public void AlertId_SameInputInTwoEngines_IsIdentical()
    {
        var first = Stream().SendAll(AlertingStream()).SelectMany(r => r.Alerts).ToList();
        var second = Stream().SendAll(AlertingStream()).SelectMany(r => r.Alerts).ToList();

        Assert.Equal(4, first.Count);
        Assert.Equal(first.Select(a => a.AlertId), second.Select(a => a.AlertId));
        Assert.Equal(first.Select(a => a.Message), second.Select(a => a.Message));
    }

    [Fact]
    public void AlertId_IsXxh128OfRuleTxnIdAndUtcTimeInLowerCaseHex()
    {
        var alerts = Stream().SendAll(AlertingStream()).SelectMany(r => r.Alerts).ToList();

        Assert.All(alerts, a =>
        {
            Assert.Equal(TestStreams.ExpectedAlertId(a.Rule, a.TxnId, a.Ts), a.AlertId);
            Assert.Matches("^[0-9a-f]{32}$", a.AlertId);
        });
        Assert.Equal(alerts.Count, alerts.Select(a => a.AlertId).Distinct().Count());
    }

    /// <summary>
    /// Once its first payment is forgotten, a <c>txnId</c> may carry another payment: its alert is another alert, and a
    /// bank keying alerts on their id must not take it for the first's.
    /// </summary>
    [Fact]
    public void AlertId_ATxnIdCarryingAnotherPaymentAfterTheHorizon_IsAnotherId()
    {
        var stream = Reference().Stream(new RuleSettings { DuplicateHorizonDays = 1 });

        var first = stream.Send(At(M(0)).Id("U1").CpCountry("KP")).Single("HIGH_RISK_JURISDICTION");
        stream.Send(At(TimeSpan.FromDays(3)).Id("U2"));
        var second = stream.Send(At(TimeSpan.FromDays(4)).Id("U1").CpCountry("KP")).Single("HIGH_RISK_JURISDICTION");
        var redelivered = Reference().Stream().Send(At(M(0)).Id("U1").CpCountry("KP")).Single("HIGH_RISK_JURISDICTION");

        Assert.NotEqual(first.AlertId, second.AlertId);
        Assert.Equal(first.AlertId, redelivered.AlertId);
    }

    [Fact]
    public void Alert_WithoutWallClock_CarriesTheEventIdentityAndTime()
    {
        var result = Stream().Send(TestStreams.Event("ID-9").Account("EFE0001").Entity("C1").CpCountry("KP").At("2026-03-02T02:00:00Z"));

        var alert = result.Single("HIGH_RISK_JURISDICTION");
        Assert.Equal("ID-9", alert.TxnId);
        Assert.Equal("C1", alert.EntityId);
        Assert.Equal("EFE0001", alert.Account);
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 2, 0, 0, TimeSpan.Zero), alert.Ts);
        Assert.Equal(alert.Ts, alert.DetectedAt);
        Assert.False(string.IsNullOrWhiteSpace(alert.Message));
    }

    [Fact]
    public void Alerts_OfOneEvent_ComeInTheOrderOfTheRuleTable()
    {
        var stream = TestStreams.Reference().Entity("BAD", type: "INDIVIDUAL", sanctioned: true).Entity("E2").Stream();

        var result = stream.Send(TestStreams.Event().Account("EFF0001").Entity("BAD").Cash().Amount(1_000_000m, "HKD")
            .Cp("DOMESTIC", entityId: "E2", country: "KP"));

        Assert.Equal(
            ["CASH_ON_ZONE_ACCOUNT", "SECOND_LINE_NON_CNY", "EFF_PURPOSE", "SANCTIONED_PARTY", "HIGH_RISK_JURISDICTION", "LARGE_VALUE_REPORT"],
            result.Rules);
    }

    [Fact]
    public void Alerts_OfASameNameEvent_ComeInTheOrderOfTheRuleTable()
    {
        var stream = TestStreams.Reference().Entity("Q9", equity: 1_000_000m, lastActivity: Dormant).Stream();

        var result = stream.Send(TestStreams.Event().Entity("Q9").Out().Amount(2_000_000m).Purpose("SECURITIES_INVESTMENT")
            .Cp("DOMESTIC", entityId: "Q9", country: "VN").At(Dormant.AddDays(400)));

        Assert.Equal(
            ["PENETRATION_NEGATIVE_LIST", "PENETRATION_CAP_BREACH", "HIGH_RISK_JURISDICTION", "LARGE_VALUE_REPORT", "DORMANT_REACTIVATION"],
            result.Rules);
    }

    [Fact]
    public void Alerts_EachRuleRaisesAtMostOnceForAnEvent()
    {
        var stream = TestStreams.Reference().Entity("BAD", sanctioned: true).Sanction("EVIL CORP").Stream();

        var result = stream.Send(TestStreams.Event().Entity("BAD").Cp("OFFSHORE", entityId: "BAD", name: "Evil Corp", country: "KP"));

        Assert.Equal(result.Rules.Distinct(), result.Rules);
        result.AssertRaised("SANCTIONED_PARTY");
    }

    [Fact]
    public void Counters_CountAlertsByRuleAndSeverity()
    {
        var stream = Stream();

        stream.SendAll(AlertingStream());

        var byRule = stream.Engine.Counters.AlertsByRule().ToList();
        Assert.Contains(("HIGH_RISK_JURISDICTION", Severity.II, 1L), byRule);
        Assert.Contains(("HIGH_RISK_JURISDICTION", Severity.I, 1L), byRule);
        Assert.Contains(("CASH_ON_ZONE_ACCOUNT", Severity.II, 1L), byRule);
        Assert.Contains(("LARGE_VALUE_REPORT", Severity.I, 1L), byRule);
    }
}
