"""The disk-space watch on this machine's real file system (shutil.disk_usage)."""

from __future__ import annotations

from adapters.outbound.disk_space import DiskSpaceWatch


def test_room_enough_says_nothing_and_zero_turns_the_check_off(tmp_path):
    assert DiskSpaceWatch([tmp_path / "events.db"], min_free_mib=1).shortage() is None
    assert DiskSpaceWatch([tmp_path / "events.db"], min_free_mib=0).shortage() is None


def test_less_than_asked_says_the_free_space_and_the_setting_and_gives_the_folder_apart(tmp_path):
    words, folder = DiskSpaceWatch([tmp_path / "events.db"], min_free_mib=1 << 40).shortage()
    assert folder == tmp_path and " MiB free where the service writes, below " in words
    assert "storage.min_free_mib (1099511627776)" in words and str(tmp_path) not in words


def test_a_folder_not_made_yet_is_judged_by_the_disk_it_will_be_on(tmp_path):
    watch = DiskSpaceWatch([tmp_path / "data" / "spool.db"], min_free_mib=1 << 40)
    assert watch.shortage()[1] == tmp_path


def test_every_folder_is_looked_at(tmp_path):
    roomy, cramped = tmp_path / "roomy", tmp_path / "cramped"
    roomy.mkdir(), cramped.mkdir()
    free = {roomy: 10 << 30, cramped: 5 << 20}
    watch = DiskSpaceWatch(
        [roomy / "events.db", cramped / "spool.db"], min_free_mib=256, free_bytes=free.__getitem__
    )
    words, folder = watch.shortage()
    assert folder == cramped and words.startswith("5 MiB free where the service writes")


def test_free_space_that_cannot_be_read_is_reported_not_raised(tmp_path):
    def unreadable(_folder):
        raise PermissionError("no")

    watch = DiskSpaceWatch([tmp_path / "events.db"], min_free_mib=1, free_bytes=unreadable)
    assert watch.shortage() == (
        "the free space where the service writes cannot be read (PermissionError)", tmp_path
    )
