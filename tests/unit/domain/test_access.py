from domain.access import AccessRule, access_refusal


def rule(**lists) -> AccessRule:
    return AccessRule(**{key: frozenset(value) for key, value in lists.items()})


def test_without_lists_everyone_may_ask():
    assert access_refusal(AccessRule(), "zhangsan", None) is None
    assert not AccessRule().restricts


def test_a_deny_list_wins_over_an_allow_list():
    both = rule(allow_users={"zhangsan"}, deny_users={"zhangsan"})
    assert access_refusal(both, "zhangsan", ()) == "zhangsan is in access.deny_users"
    in_denied_department = rule(allow_users={"lisi"}, deny_departments={7})
    assert "department 7" in access_refusal(in_denied_department, "lisi", (3, 7))


def test_an_allow_list_admits_its_members_and_departments_only():
    allowed = rule(allow_users={"zhangsan"}, allow_departments={2})
    assert access_refusal(allowed, "zhangsan", ()) is None
    assert access_refusal(allowed, "lisi", (5, 2)) is None
    assert "neither access.allow_users nor" in access_refusal(allowed, "wangwu", (5,))


def test_unknown_departments_refuse_where_a_department_list_decides():
    by_department = rule(allow_departments={2})
    assert "could not be looked up" in access_refusal(by_department, "lisi", None)
    # A member named in allow_users needs no department to be admitted...
    assert access_refusal(rule(allow_users={"lisi"}, allow_departments={2}), "lisi", None) is None
    # ...but nobody can be cleared of a denied department without knowing theirs.
    assert "could not be looked up" in access_refusal(rule(deny_departments={9}), "lisi", None)
