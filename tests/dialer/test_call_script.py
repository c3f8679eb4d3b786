from outbound_campaign.dialer import call_script


def test_placeholders_take_the_contacts_values():
    script = "<p>Hello {{firstname}} {{ lastname }}, about your {{ Plan name }}.</p>"
    values = {"firstname": "Ann", "lastname": "Smith", "Plan name": "Gold"}
    assert call_script.render(script, values) == "<p>Hello Ann Smith, about your Gold.</p>"
    assert call_script.placeholders(script + "{{firstname}}") == ["firstname", "lastname", "Plan name"]


def test_imported_markup_is_text():
    rendered = call_script.render("<p>{{firstname}}</p>", {"firstname": "<script>alert(1)</script><b>x</b>"})
    assert rendered == "<p>&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;</p>"
    assert (
        call_script.render('<a title="{{x}}">', {"x": '" onclick="y'}) == '<a title="&quot; onclick=&quot;y">'
    )


def test_a_value_that_looks_like_a_placeholder_is_not_expanded():
    values = {"firstname": "{{lastname}}", "lastname": "Smith", "note": "${firstname} {{ note }}"}
    assert call_script.render("{{firstname}}|{{note}}", values) == "{{lastname}}|${firstname} {{ note }}"


def test_a_placeholder_of_no_value_is_left_out():
    assert call_script.render("[{{enterprise}}][{{nothing}}]", {"enterprise": False}) == "[][]"
    assert call_script.render(None, {}) == ""
