from assistant.backends.llms.cpu_threads import cpu_quota, physical_cores, writing_threads


def _cpuinfo(*cpus: tuple[int, int, int]) -> str:
    """/proc/cpuinfo text for (processor, physical id, core id) triples."""
    return "\n\n".join(
        f"processor\t: {p}\nmodel name\t: Test CPU\nphysical id\t: {pkg}\ncore id\t\t: {core}"
        for p, pkg, core in cpus
    )


def test_two_cores_without_smt_give_two_threads() -> None:
    # The CI VM: 2 processors, 2 cores; llama-cpp-python's own guess (cpu_count // 2) is 1.
    assert physical_cores(_cpuinfo((0, 0, 0), (1, 0, 1)), {0, 1}) == 2


def test_hyperthread_siblings_count_once() -> None:
    info = _cpuinfo((0, 0, 0), (1, 0, 1), (2, 0, 0), (3, 0, 1))
    assert physical_cores(info, {0, 1, 2, 3}) == 2


def test_only_the_cpus_this_process_may_use_count() -> None:
    info = _cpuinfo((0, 0, 0), (1, 0, 1), (2, 1, 0), (3, 1, 1))
    assert physical_cores(info, {2, 3}) == 2
    assert physical_cores(info, {3}) == 1


def test_cpuinfo_without_core_ids_says_nothing() -> None:
    assert physical_cores("processor\t: 0\nBogoMIPS\t: 50.00", {0}) is None
    assert physical_cores("", {0}) is None


def test_a_container_quota_caps_the_threads() -> None:
    assert cpu_quota("200000 100000") == 2
    assert cpu_quota("150000 100000") == 2
    assert cpu_quota("max 100000") is None
    assert cpu_quota("") is None


def test_this_machine_gets_at_least_one_thread() -> None:
    assert writing_threads() >= 1
