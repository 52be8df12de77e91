from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from consent_center.accounts.service import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from consent_center.web.forms import Form


class LoginForm(Form):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()


class LogoutForm(Form):
    """Only the CSRF token: for logout and the language switch."""


class CodeForm(Form):
    code = StringField(_l("Six-digit code"), validators=[DataRequired(), Length(min=6, max=8)])


class ForgotPasswordForm(Form):
    email = EmailField(_l("E-mail address"), filters=[lambda v: v.strip() if isinstance(v, str) else v],
                       validators=[DataRequired(), Length(max=320)])


class SetPasswordForm(Form):
    password = PasswordField(_l("New password"), validators=[
        DataRequired(),
        Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
               message=_l("A password has %(min)d to %(max)d characters.", min=MIN_PASSWORD_LENGTH,
                          max=MAX_PASSWORD_LENGTH)),
    ])
    confirm = PasswordField(_l("The same password again"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords are not the same."))])
