"""The versioning stage's own logic, without any tool: the versions and what they must read
back as, the diff rules, the checks that fail a trial, the spec and the report section."""

import pyarrow as pa
import pytest

from bakeoff.stages.versioning.contract import KEY, Checkout, Diff
from bakeoff.stages.versioning.figures import CheckoutPoint, CommitPoint, Timeline
from bakeoff.stages.versioning.history import CORRECTED_MONTH, build, canonical_hash
from bakeoff.stages.versioning.section import figures
from bakeoff.stages.versioning.spec import VERSIONING
from bakeoff.stages.versioning.workload import Mismatch, check_checkout, check_diff, expected_diff


@pytest.fixture(scope="module")
def history(data_dir, tmp_path_factory):
    return build(data_dir, tmp_path_factory.mktemp("versions") / "source", months=4)


def test_versions_add_a_month_each_then_correct_one_percent_of_march(history):
    names = [v.name for v in history.versions]
    assert names == ["v1", "v2", "v3", "v4", "v5"]
    assert [len(v.files) for v in history.versions] == [1, 2, 3, 4, 4]
    assert history.versions[-1].change.files == [f"month={CORRECTED_MONTH:02d}.parquet"]
    march = history.month_tables[CORRECTED_MONTH].num_rows
    assert len(history.corrected_keys) == round(march * 0.01)
    assert history.versions[-1].files["month=03.parquet"] != history.versions[3].files["month=03.parquet"]


def test_canonical_hash_ignores_order_and_storage_types_but_not_values(history):
    table = history.rows_of("v3")
    shuffled = table.take(pa.array(list(range(table.num_rows))[::-1]))
    narrowed = shuffled.set_column(shuffled.schema.get_field_index("month"), "month",
                                   shuffled.column("month").cast(pa.int32()))
    assert canonical_hash(narrowed) == history.row_hash("v3") == canonical_hash(table)
    assert history.row_hash("v5") != history.row_hash("v4")


def test_a_checkout_with_one_changed_value_fails(history):
    table = history.rows_of("v4")
    late = table.column("late").to_pylist()
    late[10] = 1 - late[10]
    wrong = table.set_column(table.schema.get_field_index("late"), "late", pa.array(late))
    assert check_checkout("table", Checkout(table=table), history.version("v4"), history) == table.num_rows
    with pytest.raises(Mismatch):
        check_checkout("table", Checkout(table=wrong), history.version("v4"), history)


def test_a_row_deleted_and_reinserted_is_a_changed_row():
    found = Diff.from_rows(inserted={1, 2, 3}, deleted={3, 4}, updated={5}, how="feed")
    assert (found.added_keys, found.changed_keys, found.removed_keys) == ({1, 2}, {3, 5}, {4})


def test_the_true_diffs_are_the_added_month_and_the_corrected_rows(history):
    files = expected_diff(history, "v3", "v4", "files")
    assert (files.added_files, files.changed_files) == ({"month=04.parquet"}, set())
    rows = expected_diff(history, "v4", "v5", "table")
    assert rows.changed_keys == history.corrected_keys and not rows.added_keys
    with pytest.raises(Mismatch):
        check_diff(Diff(changed_keys=set(list(rows.changed_keys)[1:])), rows, "table", "v4", "v5")
    assert check_diff(Diff(changed_keys=set(rows.changed_keys)), rows, "table", "v4", "v5").startswith("0 added")


def test_the_full_layout_scales_rows_and_writes_a_file_per_day(data_dir, tmp_path):
    """The full sizes: rows x scale by resampling, one file per day of the month, and the
    correction rewriting only March's files whose rows changed."""
    full = build(data_dir, tmp_path / "source", months=3, scale=2, files_per_month="daily")
    single = build(data_dir, tmp_path / "single", months=3, correction=False)
    assert [len(v.files) for v in full.versions] == [31, 59, 90, 90]
    assert all(name.startswith("month=03/day=") for name in full.versions[-1].change.files)
    for month in (1, 2, 3):
        assert full.month_tables[month].num_rows == 2 * single.month_tables[month].num_rows
    march = full.month_tables[CORRECTED_MONTH]
    keys = march.column(KEY).to_numpy()
    assert len(set(keys.tolist())) == march.num_rows  # resampled rows get their own keys
    files = expected_diff(full, "v3", "v4", "files")
    assert files.changed_files == set(full.versions[-1].change.files) and not files.added_files
    assert expected_diff(full, "v2", "v3", "files").added_files == set(full.month_names[3])


def test_spec_metrics_name_criteria_and_core_probes():
    assert set(VERSIONING.core_probes()) == {"exact_readback", "diff_correct", "reproduce_model"}
    assert VERSIONING.constraint_probe("offline") == "offline"
    assert VERSIONING.repeated_kind == "history"
    assert KEY == "flight_id"


def test_section_draws_storage_and_times_from_typed_figure_data():
    def tool(baseline: bool, grow: float) -> dict:
        timeline = Timeline(layout="files", commits=[CommitPoint(f"v{i}", 0.1 * i, grow * i, 1.0 * i) for i in (1, 2, 3)],
                            checkouts=[CheckoutPoint("v3", 0.2, 0), CheckoutPoint("v1", 0.1, 0)])
        return {"baseline": baseline, "figures": {Timeline.KIND: timeline.dump()}}

    drawn = figures({"baseline": "copy", "tools": {"copy": tool(True, 3.0), "dvc": tool(False, 1.1), "broken": {}}})
    assert [f.title.split()[0] for f in drawn] == ["Storage", "Commit", "Checkout"]
    assert "| dvc |" in drawn[0].text and "broken" not in drawn[0].text
    assert all(f.svg.startswith("<svg") for f in drawn)
